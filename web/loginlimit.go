package web

import (
	"sync"
	"time"
)

// loginLimiter counts failed logins in fixed windows: per account from an
// address, per address over all accounts, and per account over all
// addresses (accountWide times the per-address-and-account limit), so
// guesses spread over many addresses are bounded too. They are
// independent: a good login clears only that account's failures (from that
// address, and its account-wide count, which only its password can
// clear), so logging in to an account one knows buys no guesses at another.
type loginLimiter struct {
	mu         sync.Mutex
	perAccount int // failures of one account from one address
	perAddress int // failures from one address, all accounts together
	window     time.Duration
	now        func() time.Time
	addrs      map[string]*addressFailures
	accounts   map[string]*failWindow // each account's failures from every address
}

// accountWide is how many times perAccount one account may fail in a
// window from all addresses together: enough for a few people mistyping,
// far too few for guessing from a pool of addresses.
const accountWide = 4

type failWindow struct {
	start time.Time
	n     int
}

func (w failWindow) live(now time.Time, d time.Duration) bool { return w.n > 0 && now.Sub(w.start) < d }

// addressFailures are one address's failures: all of them in the address's
// window, and each account's in its own.
type addressFailures struct {
	all       failWindow
	byAccount map[string]int // the share of all.n each account caused
	accounts  map[string]*failWindow
}

// maxAddresses bounds memory under a spray of addresses: beyond it, expired
// entries are dropped.
const maxAddresses = 10000

func newLoginLimiter(perAccount, perAddress int, window time.Duration, now func() time.Time) *loginLimiter {
	return &loginLimiter{perAccount: perAccount, perAddress: perAddress, window: window, now: now,
		addrs: map[string]*addressFailures{}, accounts: map[string]*failWindow{}}
}

// blocked says how long an address must wait before it may try the account
// again; 0 lets it try.
func (l *loginLimiter) blocked(addr, account string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	if w := l.accounts[account]; w != nil && w.live(now, l.window) && w.n >= accountWide*l.perAccount {
		wait = w.start.Add(l.window).Sub(now)
	}
	a := l.addrs[addr]
	if a == nil {
		return wait
	}
	if a.all.live(now, l.window) && a.all.n >= l.perAddress {
		wait = max(wait, a.all.start.Add(l.window).Sub(now))
	}
	if w := a.accounts[account]; w != nil && w.live(now, l.window) && w.n >= l.perAccount {
		wait = max(wait, w.start.Add(l.window).Sub(now))
	}
	return wait
}

// fail counts a failed login.
func (l *loginLimiter) fail(addr, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.addrs) >= maxAddresses || len(l.accounts) >= maxAddresses {
		l.prune(now)
	}
	if g := l.accounts[account]; g == nil || !g.live(now, l.window) {
		l.accounts[account] = &failWindow{start: now, n: 1}
	} else {
		g.n++
	}
	a := l.addrs[addr]
	if a == nil {
		a = &addressFailures{accounts: map[string]*failWindow{}}
		l.addrs[addr] = a
	}
	if !a.all.live(now, l.window) {
		a.all = failWindow{start: now}
		a.byAccount = map[string]int{}
		for name, w := range a.accounts {
			if !w.live(now, l.window) {
				delete(a.accounts, name)
			}
		}
	}
	a.all.n++
	a.byAccount[account]++
	w := a.accounts[account]
	if w == nil || !w.live(now, l.window) {
		w = &failWindow{start: now}
		a.accounts[account] = w
	}
	w.n++
}

// succeed clears the account's failures from the address, and their share
// of the address's count; other accounts' failures stay counted.
func (l *loginLimiter) succeed(addr, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, account)
	a := l.addrs[addr]
	if a == nil {
		return
	}
	delete(a.accounts, account)
	a.all.n -= a.byAccount[account]
	delete(a.byAccount, account)
	if a.all.n <= 0 && len(a.accounts) == 0 {
		delete(l.addrs, addr)
	}
}

func (l *loginLimiter) prune(now time.Time) {
	for name, w := range l.accounts {
		if !w.live(now, l.window) {
			delete(l.accounts, name)
		}
	}
	for addr, a := range l.addrs {
		if a.all.live(now, l.window) {
			continue
		}
		for name, w := range a.accounts {
			if !w.live(now, l.window) {
				delete(a.accounts, name)
			}
		}
		if len(a.accounts) == 0 {
			delete(l.addrs, addr)
		}
	}
}
