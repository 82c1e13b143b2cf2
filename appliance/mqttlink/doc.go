// Package mqttlink is the appliance's link to the line PLCs over MQTT 3.1.1.
// It publishes verdicts from the journal's outbox strictly in order, acking
// each entry in the journal only after the broker's PUBACK, so a broker
// outage or an appliance restart delays verdicts but never loses them. It
// keeps a retained status topic (birth, last will, clean offline), publishes
// periodic stats, and turns trigger messages into inspections.
//
// docs/mqtt.md is the contract the payloads here implement (contract v1).
package mqttlink
