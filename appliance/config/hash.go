package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
)

// Hash identifies the effective configuration: the sha256 of its canonical
// JSON (defaults filled in, paths resolved), as "sha256:<hex>". The MQTT
// status message publishes it, so secrets are left out: mqtt.password
// entirely and passwords inside stream URLs. The defect-class file has its
// own hash, carried by every verdict.
func (c *Config) Hash() string {
	cp := *c
	cp.Cameras = append([]Camera(nil), c.Cameras...)
	for i := range cp.Cameras {
		if u, err := url.Parse(cp.Cameras[i].Source.URL); err == nil && u.User != nil {
			cp.Cameras[i].Source.URL = u.Redacted()
		}
	}
	data, err := json.Marshal(&cp)
	if err != nil {
		panic("config: canonical encoding cannot fail: " + err.Error())
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
