// Package tuning makes the most of the hardware the appliance finds: it
// chooses the model variant and batch size that fit a memory cap (Select),
// and, while the line runs, a monitor (Monitor, deciding with Controller)
// follows latency against the part deadline, throughput and memory, and
// changes the batch wait, the batch size and the variant between frames.
// The rules are in docs/edge.md.
package tuning
