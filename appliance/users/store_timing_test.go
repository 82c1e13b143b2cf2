package users

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/linesight/linesight/internal/testenv"
)

// An unknown name must cost what a wrong password costs: one bcrypt
// comparison at the cost of real hashes. Counted through the comparison
// seam, never timed.
func TestUnknownUserCostsAsMuchAsWrongPassword(t *testing.T) {
	saved := BcryptCost
	BcryptCost = bcrypt.MinCost + 1 // above the minimum, so a cheaper dummy shows
	t.Cleanup(func() { BcryptCost = saved })
	s, err := OpenStore(filepath.Join(t.TempDir(), StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "the user store", s)
	if _, err := s.AddUser("olga", RoleOperator, "olga-password", time.Now()); err != nil {
		t.Fatal(err)
	}
	var costs []int
	compare := compareHash
	compareHash = func(hash, password []byte) error {
		c, err := bcrypt.Cost(hash)
		if err != nil {
			t.Errorf("compared with a hash that is not bcrypt: %v", err)
		}
		costs = append(costs, c)
		return compare(hash, password)
	}
	t.Cleanup(func() { compareHash = compare })

	paths := []struct{ name, user, password string }{
		{"unknown user", "nobody", "guess-guess"},
		{"wrong password", "olga", "guess-guess"},
	}
	for _, p := range paths {
		costs = nil
		if _, err := s.Authenticate(p.user, p.password); err != ErrWrongLogin {
			t.Fatalf("%s: %v, want %v", p.name, err, ErrWrongLogin)
		}
		if len(costs) != 1 || costs[0] != BcryptCost {
			t.Errorf("%s: bcrypt comparisons at costs %v, want one at cost %d", p.name, costs, BcryptCost)
		}
	}
}
