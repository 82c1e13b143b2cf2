package config

import "time"

// Modbus is the Modbus TCP server for simple PLCs (docs/plc.md); off while
// Listen is empty.
type Modbus struct {
	// Listen is host:port, e.g. 0.0.0.0:502 (a port below 1024 needs the
	// service's CAP_NET_BIND_SERVICE); empty turns the server off.
	Listen string `yaml:"listen" json:"listen"`
	// UnitID, when not 0, is the only unit id answered (0 is always).
	UnitID int `yaml:"unit_id" json:"unit_id"`
	// MaxClients caps concurrent connections; more are refused.
	MaxClients int `yaml:"max_clients" json:"max_clients"`
	// IdleTimeout closes a connection that sends nothing this long.
	IdleTimeout time.Duration `yaml:"idle_timeout" json:"idle_timeout"`
}

// Modbus defaults.
const (
	DefaultModbusMaxClients  = 8
	DefaultModbusIdleTimeout = time.Minute
)

func applyModbusDefaults(set func(string, func()), c *Config) {
	set("modbus.max_clients", func() { c.Modbus.MaxClients = DefaultModbusMaxClients })
	set("modbus.idle_timeout", func() { c.Modbus.IdleTimeout = DefaultModbusIdleTimeout })
}

func (v validator) modbus(m *Modbus) {
	if m.Listen != "" {
		if err := checkHostPort(m.Listen, false); err != nil {
			v.errorf("modbus.listen", "%q: %v (accepted: host:port such as 0.0.0.0:502; empty turns the server off)", m.Listen, err)
		}
	}
	v.intIn("modbus.unit_id", m.UnitID, 0, 247)
	v.intIn("modbus.max_clients", m.MaxClients, 1, 64)
	v.durationIn("modbus.idle_timeout", m.IdleTimeout, time.Second, time.Hour)
}
