package config

import (
	"path/filepath"
	"strings"

	"github.com/linesight/linesight/pipeline/capture"
)

// resolvePaths makes every relative path in c relative to dir, the
// directory of the configuration file, so the appliance finds the same files
// whatever its working directory.
func resolvePaths(c *Config, dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.DataDir)
	abs(&c.Defects)
	abs(&c.Model.Bundle)
	// A bare library name is left to the dynamic loader's search path.
	if strings.ContainsRune(c.Model.ORTLibrary, '/') {
		abs(&c.Model.ORTLibrary)
	}
	for i := range c.Model.Providers {
		abs(&c.Model.Providers[i].EngineCacheDir)
	}
	for i := range c.Cameras {
		if k := c.Cameras[i].Source.Kind; k == capture.KindFile || k == capture.KindFolder {
			abs(&c.Cameras[i].Source.Path)
		}
	}
	for _, p := range []*string{&c.MQTT.TLS.CA, &c.MQTT.TLS.Cert, &c.MQTT.TLS.Key, &c.Web.TLS.Cert, &c.Web.TLS.Key,
		&c.Escalation.TLS.CA, &c.Escalation.TLS.Cert, &c.Escalation.TLS.Key,
		&c.Escalation.Serve.TLS.Cert, &c.Escalation.Serve.TLS.Key, &c.Escalation.Serve.TLS.ClientCA} {
		abs(p)
	}
}
