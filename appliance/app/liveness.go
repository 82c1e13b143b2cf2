package app

// Ready is closed once the model is warm and the loop inspects: the moment
// the appliance logs "appliance ready" and /readyz turns 200.
func (a *App) Ready() <-chan struct{} { return a.ready }

// Progress is the inspection loop's count of signs of life (see
// inspect.Loop.Progress), for the systemd watchdog; ok is false unless the
// appliance is ready.
func (a *App) Progress() (count uint64, ok bool) {
	if a.State() != StateReady {
		return 0, false
	}
	return a.loop.Progress(), true
}
