package web

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// stepClock is a settable time for the limiter's windows.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStepClock() *stepClock { return &stepClock{t: time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)} }

func (c *stepClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLoginLimiterCountsAccountAndAddressApart(t *testing.T) {
	clk := newStepClock()
	l := newLoginLimiter(3, 5, time.Minute, clk.now)
	for range 3 {
		l.fail("10.0.0.1", "admin")
	}
	if l.blocked("10.0.0.1", "admin") == 0 {
		t.Fatal("3 failures at admin: admin must be blocked from that address")
	}
	if l.blocked("10.0.0.1", "olga") != 0 || l.blocked("10.0.0.2", "admin") != 0 {
		t.Fatal("the account limit holds for one account from one address only")
	}
	// A good login to another account clears nothing of admin's.
	l.succeed("10.0.0.1", "olga")
	if l.blocked("10.0.0.1", "admin") == 0 {
		t.Fatal("a good login as olga unblocked admin")
	}
	// Two failures at another account fill the address's count.
	l.fail("10.0.0.1", "erik")
	l.succeed("10.0.0.1", "olga")
	l.fail("10.0.0.1", "olga")
	if l.blocked("10.0.0.1", "ada") == 0 {
		t.Fatal("5 failures from one address: every account must be blocked from it")
	}
	// olga's good login takes back her own share only: 4 of 5 left.
	l.succeed("10.0.0.1", "olga")
	if l.blocked("10.0.0.1", "ada") != 0 {
		t.Fatal("olga's good login must take back her own failure")
	}
	l.fail("10.0.0.1", "ada")
	if wait := l.blocked("10.0.0.1", "ada"); wait <= 0 || wait > time.Minute {
		t.Fatalf("address full again: wait %v, want up to a minute", wait)
	}
	clk.advance(time.Minute)
	if l.blocked("10.0.0.1", "admin") != 0 || l.blocked("10.0.0.1", "ada") != 0 {
		t.Fatal("the window has passed: the address may try again")
	}
}

// The bypass: guesses at one account interleaved with good logins to
// another must still be limited, by form login and by Basic credentials.
func TestLoginLimitNotResetByAnotherAccountsLogin(t *testing.T) {
	for _, via := range []string{"form", "basic"} {
		t.Run(via, func(t *testing.T) {
			clk := newStepClock()
			h := newHarness(t, func(o *Options) { o.Now = clk.now }) // LoginLimit 3 per account, 6 per address
			guess := func(name, password string) int {
				if via == "form" {
					resp, _ := h.anon().do("POST", "/api/v1/auth/login", `{"name":"`+name+`","password":"`+password+`"}`)
					return resp.StatusCode
				}
				req, err := http.NewRequest("GET", h.ts.URL+"/api/v1/status", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.SetBasicAuth(name, password)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				must(t, resp.Body.Close())
				return resp.StatusCode
			}
			tried := 0
			for round := 0; round < 10; round++ {
				for range 2 {
					if guess("ada", "guess-guess") == http.StatusUnauthorized {
						tried++
					}
				}
				guess("olga", "olga-password") // good, but must not clear ada's failures
			}
			if tried != 3 {
				t.Fatalf("%d guesses at ada were checked in one window; the limit is 3", tried)
			}
			if got := guess("ada", "ada-password"); got != http.StatusTooManyRequests {
				t.Fatalf("ada's right password during the block: %d, want 429", got)
			}
			if got := guess("olga", "olga-password"); got != http.StatusOK {
				t.Fatalf("olga, who failed nothing, from the same address: %d, want 200", got)
			}
			clk.advance(time.Minute)
			if got := guess("ada", "ada-password"); got != http.StatusOK {
				t.Fatalf("ada after the window: %d, want 200", got)
			}
		})
	}
}

// Spraying many accounts from one address is limited by the address count.
func TestLoginLimitPerAddress(t *testing.T) {
	clk := newStepClock()
	h := newHarness(t, func(o *Options) { o.Now = clk.now })
	c := h.anon()
	for _, name := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		c.expect("POST", "/api/v1/auth/login", `{"name":"`+name+`","password":"guess-guess"}`, 401)
	}
	resp, _ := c.do("POST", "/api/v1/auth/login", `{"name":"olga","password":"olga-password"}`)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("6 failures from the address: olga got %d, want 429 with Retry-After", resp.StatusCode)
	}
}

// Guesses at one account spread over many addresses are bounded too: each
// address stays under its own limits, the account's count over all of them
// blocks it everywhere, and only the account's own good login clears that.
func TestLoginLimitPerAccountOverAllAddresses(t *testing.T) {
	clk := newStepClock()
	l := newLoginLimiter(3, 5, time.Minute, clk.now)
	guesses := 0
	for i := 0; i < 100 && l.blocked(fmt.Sprintf("10.0.1.%d", i), "admin") == 0; i++ {
		l.fail(fmt.Sprintf("10.0.1.%d", i), "admin")
		l.fail(fmt.Sprintf("10.0.1.%d", i), "admin")
		guesses += 2
	}
	if guesses != accountWide*3 {
		t.Fatalf("%d guesses at admin from fresh addresses before it was blocked, want %d", guesses, accountWide*3)
	}
	if l.blocked("10.0.9.9", "olga") != 0 {
		t.Fatal("the account-wide count blocked another account")
	}
	l.succeed("10.0.9.9", "olga")
	if l.blocked("10.0.9.9", "admin") == 0 {
		t.Fatal("olga's good login cleared admin's account-wide count")
	}
	l.succeed("10.0.9.9", "admin")
	if l.blocked("10.0.9.8", "admin") != 0 {
		t.Fatal("admin's own good login must clear its account-wide count")
	}
}
