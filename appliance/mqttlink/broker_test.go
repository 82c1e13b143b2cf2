package mqttlink

import (
	"time"

	"github.com/linesight/linesight/appliance/mqttlink/mosquitto"
)

// waitFor bounds every wait in these tests; it only guards against hangs.
const waitFor = 30 * time.Second

var startBroker = mosquitto.Start

type brokerTLS = mosquitto.TLS
