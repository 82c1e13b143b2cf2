// Package config reads the appliance's YAML configuration. Decoding is
// strict and every problem is reported at once, each naming the file, the
// line and the path of the value, and what would have been accepted.
package config

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/yamlconf"
)

// Config is the appliance configuration file.
type Config struct {
	// Line names the production line in MQTT topics.
	Line string `yaml:"line" json:"line"`
	// DataDir holds the journal, caches and images.
	DataDir string `yaml:"data_dir" json:"data_dir"`
	// Defects is the defect-class file.
	Defects  string   `yaml:"defects" json:"defects"`
	Model    Model    `yaml:"model" json:"model"`
	Cameras  []Camera `yaml:"cameras" json:"cameras"`
	Pipeline Pipeline `yaml:"pipeline" json:"pipeline"`
	MQTT     MQTT     `yaml:"mqtt" json:"mqtt"`
	Web      Web      `yaml:"web" json:"web"`
	Journal  Journal  `yaml:"journal" json:"journal"`
	// Performance is the adaptive tuning of batching and model variant.
	Performance Performance `yaml:"performance" json:"performance"`
	// Escalation sends uncertain frames to a larger model elsewhere, and
	// configures `linesight serve`, which answers them.
	Escalation Escalation `yaml:"escalation" json:"escalation"`
	// Alarms are the process alarms' rules.
	Alarms Alarms `yaml:"alarms" json:"alarms"`
	// Shifts are the local times ("HH:MM") shifts begin, in order.
	Shifts []string `yaml:"shifts" json:"shifts"`
	// Parts are the part stages: cameras whose verdicts for one part are
	// fused into one part verdict.
	Parts []Part `yaml:"parts" json:"parts,omitempty"`
	// Modbus is the Modbus TCP server for PLCs; off by default.
	Modbus Modbus `yaml:"modbus" json:"modbus"`
	// OPCUA is the OPC UA server; off by default.
	OPCUA OPCUA `yaml:"opcua" json:"opcua"`

	// File is where the configuration was read from.
	File string `yaml:"-" json:"-"`
	// classes is the validated defect-class file, when Defects is set.
	classes *defects.File
}

// Classes returns the defect-class file that Load validated, or nil when the
// configuration names none.
func (c *Config) Classes() *defects.File { return c.classes }

// Load reads a configuration file and returns it with defaults filled in,
// paths resolved against the file's directory, and every value validated,
// the defect-class file included. Every key is optional, so a file holding
// only `model` serves the model commands; LoadAppliance also requires what
// running the appliance needs.
func Load(path string) (*Config, error) { return load(path, false) }

// LoadAppliance is Load for running the appliance: it also requires line,
// defects, model.bundle and at least one camera, and checks that the
// defect-class file has a class set for every camera.
func LoadAppliance(path string) (*Config, error) { return load(path, true) }

// Parse is Load for data read from name; relative paths and the defect-class
// file are resolved against name's directory.
func Parse(name string, data []byte) (*Config, error) { return parse(name, data, false) }

// ParseAppliance is LoadAppliance for data read from name.
func ParseAppliance(name string, data []byte) (*Config, error) { return parse(name, data, true) }

func load(path string, appliance bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, data, appliance)
}

// parse returns the configuration, or yamlconf.Errors listing every problem:
// this file's in line order, then the defect-class file's with their own
// file and line.
func parse(name string, data []byte, appliance bool) (*Config, error) {
	c := &Config{File: name}
	doc := yamlconf.Decode(name, data, c)
	if doc.Malformed() {
		return nil, doc.Err()
	}
	applyDefaults(doc, c)
	resolvePaths(c, filepath.Dir(name))
	v := validator{doc: doc, appliance: appliance}
	v.config(c)
	defectErrs := v.defects(c)
	errs := append(doc.Errors(), defectErrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}
