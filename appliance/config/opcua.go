package config

import "time"

// OPCUA is the OPC UA server for SCADA and PLCs (docs/plc.md); off while
// Listen is empty.
type OPCUA struct {
	// Listen is host:port, e.g. 0.0.0.0:4840; empty turns the server off.
	Listen string `yaml:"listen" json:"listen"`
	// Host is the name clients reach the box by, in the endpoint URL;
	// empty: the listen host (localhost for 0.0.0.0).
	Host string `yaml:"host" json:"host"`
	// Methods allows the Trigger and SetRecipe methods. The server checks
	// no user, so they are off unless the network is trusted.
	Methods bool `yaml:"methods" json:"methods"`
	// MaxConnections caps open connections; HandshakeTimeout is how long
	// a new one has to speak.
	MaxConnections   int           `yaml:"max_connections" json:"max_connections"`
	HandshakeTimeout time.Duration `yaml:"handshake_timeout" json:"handshake_timeout"`
}

// OPC UA defaults.
const (
	DefaultOPCUAMaxConnections   = 16
	DefaultOPCUAHandshakeTimeout = 5 * time.Second
)

func applyOPCUADefaults(set func(string, func()), c *Config) {
	set("opcua.max_connections", func() { c.OPCUA.MaxConnections = DefaultOPCUAMaxConnections })
	set("opcua.handshake_timeout", func() { c.OPCUA.HandshakeTimeout = DefaultOPCUAHandshakeTimeout })
}

func (v validator) opcua(o *OPCUA) {
	if o.Listen != "" {
		if err := checkHostPort(o.Listen, true); err != nil {
			v.errorf("opcua.listen", "%q: %v (accepted: host:port such as 0.0.0.0:4840; empty turns the server off)", o.Listen, err)
		}
	}
	if o.Methods && o.Listen == "" {
		v.errorf("opcua.methods", "the OPC UA server is off (opcua.listen is empty)")
	}
	v.intIn("opcua.max_connections", o.MaxConnections, 1, 256)
	v.durationIn("opcua.handshake_timeout", o.HandshakeTimeout, 100*time.Millisecond, time.Minute)
}
