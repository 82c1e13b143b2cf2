// Package systemd holds the appliance's systemd units (the .service files
// beside this one, installed by make deb); its tests verify them with the
// real systemd-analyze. See docs/deploy.md.
package systemd
