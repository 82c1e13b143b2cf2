package config

import "time"

// Pipeline sizes the path from cameras to sinks.
type Pipeline struct {
	// BatchSize is the most frames one inference call takes.
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// BatchWait is the longest a frame waits for others to fill its batch.
	BatchWait time.Duration `yaml:"batch_wait" json:"batch_wait"`
	// QueueSize is how many frames per camera may wait for inference.
	QueueSize int `yaml:"queue_size" json:"queue_size"`
	// SinkQueue is how many verdicts per sink may wait to be written.
	SinkQueue int `yaml:"sink_queue" json:"sink_queue"`
}

// MQTT is the link to the line's PLCs; an empty Broker disables it.
type MQTT struct {
	// Broker is tcp://host[:1883] or ssl://host[:8883].
	Broker   string `yaml:"broker" json:"broker"`
	ClientID string `yaml:"client_id" json:"client_id"`
	Username string `yaml:"username" json:"username"`
	// Password is left out of Hash, which is published.
	Password  string        `yaml:"password" json:"-"`
	TLS       ClientTLS     `yaml:"tls" json:"tls"`
	Keepalive time.Duration `yaml:"keepalive" json:"keepalive"`
	Reconnect Backoff       `yaml:"reconnect" json:"reconnect"`
	// OutboxLimit is how many undelivered verdicts the journal keeps for
	// the broker; OutboxFull says what happens beyond it.
	OutboxLimit int    `yaml:"outbox_limit" json:"outbox_limit"`
	OutboxFull  string `yaml:"outbox_full" json:"outbox_full"`
	// OutboxMaxAge is how long a verdict may wait for the broker; an older
	// one is dropped, never published (docs/mqtt.md).
	OutboxMaxAge time.Duration `yaml:"outbox_max_age" json:"outbox_max_age"`
	// StatsInterval is the period of the stats message.
	StatsInterval time.Duration `yaml:"stats_interval" json:"stats_interval"`
}

// ClientTLS secures the broker connection.
type ClientTLS struct {
	// CA verifies the broker; empty uses the system's roots.
	CA string `yaml:"ca" json:"ca"`
	// Cert and Key are the client certificate, for brokers that ask for one.
	Cert               string `yaml:"cert" json:"cert"`
	Key                string `yaml:"key" json:"key"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" json:"insecure_skip_verify"`
}

// Web is the dashboard and API server.
type Web struct {
	// Listen is host:port; empty turns the server off.
	Listen string    `yaml:"listen" json:"listen"`
	TLS    ServerTLS `yaml:"tls" json:"tls"`
	// Kiosk serves the operator view without login, for a screen at the line.
	Kiosk bool `yaml:"kiosk" json:"kiosk"`
	// MaxStreams caps the live streams (MJPEG and verdict events) open at
	// once, MaxStreamsPerCamera those of one camera: each costs a
	// connection and, for MJPEG, a camera's frames at up to 5 a second.
	MaxStreams          int `yaml:"max_streams" json:"max_streams"`
	MaxStreamsPerCamera int `yaml:"max_streams_per_camera" json:"max_streams_per_camera"`
}

// ServerTLS is the dashboard's certificate; both empty serves plain HTTP.
type ServerTLS struct {
	Cert string `yaml:"cert" json:"cert"`
	Key  string `yaml:"key" json:"key"`
}

// Journal is the bbolt record of every inspection.
type Journal struct {
	// FlushInterval bounds how long a verdict waits to be synced to disk.
	FlushInterval time.Duration `yaml:"flush_interval" json:"flush_interval"`
	// MaxMB and MaxAge bound the journal; the oldest records go first.
	MaxMB  int           `yaml:"max_mb" json:"max_mb"`
	MaxAge time.Duration `yaml:"max_age" json:"max_age"`
	// KeepPassImages keeps the image of 1 in N passed parts (0: none);
	// failed and uncertain parts always keep theirs.
	KeepPassImages int `yaml:"keep_pass_images" json:"keep_pass_images"`
	JPEGQuality    int `yaml:"jpeg_quality" json:"jpeg_quality"`
	// ImageMaxSide scales stored images down to this longest side (0: as captured).
	ImageMaxSide int `yaml:"image_max_side" json:"image_max_side"`
}

// OutboxFull policies.
const (
	OutboxDropOldest = "drop_oldest" // keep the newest verdicts
	OutboxRefuse     = "refuse"      // keep the oldest; new verdicts are not queued for MQTT
)

// Section defaults.
const (
	DefaultDataDir = "/var/lib/linesight"

	DefaultBatchSize = 4
	DefaultBatchWait = 20 * time.Millisecond
	DefaultQueueSize = 8
	DefaultSinkQueue = 1024

	DefaultKeepalive        = 30 * time.Second
	DefaultMQTTReconnectMin = time.Second
	DefaultMQTTReconnectMax = time.Minute
	DefaultOutboxLimit      = 100000
	DefaultOutboxFull       = OutboxDropOldest
	DefaultOutboxMaxAge     = time.Minute
	DefaultStatsInterval    = 10 * time.Second

	DefaultListen              = "127.0.0.1:8080"
	DefaultMaxStreams          = 32
	DefaultMaxStreamsPerCamera = 8
	MaxWebStreams              = 10000

	DefaultFlushInterval  = 200 * time.Millisecond
	DefaultMaxMB          = 10240
	DefaultMaxAge         = 30 * 24 * time.Hour
	DefaultKeepPassImages = 100
	DefaultJPEGQuality    = 85
	DefaultImageMaxSide   = 1024
)
