// Package users keeps the appliance's local accounts, their roles and the
// audit log of changes, in a bbolt file of the data directory (web.db: the
// dashboard's store by history). The dashboard logs people in against it,
// the command line adds them, and every change anyone makes is audited
// here.
package users

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"
)

// StoreFile is the web store's file name in the data directory.
const StoreFile = "web.db"

// Roles, lowest first: each may do what the ones before it may.
const (
	RoleOperator = "operator"
	RoleEngineer = "engineer"
	RoleAdmin    = "admin"
)

var roleRank = map[string]int{RoleOperator: 1, RoleEngineer: 2, RoleAdmin: 3}

// ValidRole reports whether r is one of the roles.
func ValidRole(r string) bool { return roleRank[r] > 0 }

// Rank orders the roles: a role may do what any role of a lower rank may.
// 0 for a string that is no role.
func Rank(role string) int { return roleRank[role] }

// Errors the store returns; handlers map them to status codes.
var (
	ErrUserExists   = errors.New("user already exists")
	ErrUnknownUser  = errors.New("no such user")
	ErrLastAdmin    = errors.New("the last admin cannot be removed or demoted")
	ErrBadPassword  = errors.New("password must be 8 to 72 bytes")
	ErrBadUserName  = errors.New("user name must be 1 to 64 of A-Z a-z 0-9 . _ -")
	ErrBadRole      = errors.New("role must be operator, engineer or admin")
	ErrWrongLogin   = errors.New("wrong name or password")
	bucketUsers     = []byte("users")
	bucketAudit     = []byte("audit")
	userNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// BcryptCost is the cost of new password hashes; tests lower it to bcrypt's
// minimum to run fast.
var BcryptCost = bcrypt.DefaultCost

// User is a local account. Hash is the bcrypt hash of the password.
type User struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Hash      []byte    `json:"hash,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// MustChangePassword marks an account whose password someone else
	// knows (the generated first admin): until its owner sets a new one,
	// the API lets it do nothing else.
	MustChangePassword bool `json:"must_change_password,omitempty"`
}

// public is the user without the hash, for the API.
func (u User) public() User { u.Hash = nil; return u }

// AuditEntry records one change someone made.
type AuditEntry struct {
	At       time.Time `json:"at"`
	User     string    `json:"user"`
	Action   string    `json:"action"`
	Detail   string    `json:"detail,omitempty"`
	FromHash string    `json:"from_hash,omitempty"`
	ToHash   string    `json:"to_hash,omitempty"`
	Changes  []string  `json:"changes,omitempty"`
}

// Store keeps users and the audit log in a bbolt file of its own, apart from
// the journal, so the CLI can add users without touching inspection data.
type Store struct{ db *bolt.DB }

// OpenStore opens or creates the store. bbolt locks the file: a second
// process waits at most a second, then gets an error.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open web store %s: it is in use (is the appliance running? stop it first)", path)
		}
		return nil, fmt.Errorf("open web store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketUsers, bucketAudit} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare web store %s: %w", path, err)
	}
	// Hashed now, so that the first unknown name is not the slow one.
	dummyHash()
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func checkPassword(p string) error {
	if len(p) < 8 || len(p) > 72 { // bcrypt ignores bytes past 72
		return ErrBadPassword
	}
	return nil
}

// AddUser creates a user.
func (s *Store) AddUser(name, role, password string, now time.Time) (User, error) {
	return s.addUser(name, role, password, now, false)
}

func (s *Store) addUser(name, role, password string, now time.Time, mustChange bool) (User, error) {
	if !userNamePattern.MatchString(name) {
		return User{}, ErrBadUserName
	}
	if !ValidRole(role) {
		return User{}, ErrBadRole
	}
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	u := User{Name: name, Role: role, Hash: hash, CreatedAt: now.UTC(), UpdatedAt: now.UTC(), MustChangePassword: mustChange}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b.Get([]byte(name)) != nil {
			return fmt.Errorf("add user %q: %w", name, ErrUserExists)
		}
		return putUser(b, u)
	})
	return u.public(), err
}

func putUser(b *bolt.Bucket, u User) error {
	raw, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return b.Put([]byte(u.Name), raw)
}

func getUser(b *bolt.Bucket, name string) (User, error) {
	raw := b.Get([]byte(name))
	if raw == nil {
		return User{}, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
	}
	var u User
	if err := json.Unmarshal(raw, &u); err != nil {
		return User{}, fmt.Errorf("decode user %q: %w", name, err)
	}
	return u, nil
}

// User returns one user, without the hash.
func (s *Store) User(name string) (User, error) {
	var u User
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		u, err = getUser(tx.Bucket(bucketUsers), name)
		return err
	})
	return u.public(), err
}

// Users lists the users by name, without hashes.
func (s *Store) Users() ([]User, error) {
	users := []User{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
			var u User
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("decode user %q: %w", k, err)
			}
			users = append(users, u.public())
			return nil
		})
	})
	return users, err
}

// Authenticate checks a name and password. Unknown names cost a bcrypt
// comparison too, so timing does not tell which names exist.
func (s *Store) Authenticate(name, password string) (User, error) {
	var u User
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		u, err = getUser(tx.Bucket(bucketUsers), name)
		return err
	})
	if err != nil {
		compareHash(dummyHash(), []byte(password))
		return User{}, ErrWrongLogin
	}
	if compareHash(u.Hash, []byte(password)) != nil {
		return User{}, ErrWrongLogin
	}
	return u.public(), nil
}

// compareHash is bcrypt's comparison, a variable so tests can see what each
// login path compares (its time is what must not differ).
var compareHash = bcrypt.CompareHashAndPassword

// dummy is the hash an unknown name's password is compared with. It has the
// cost new hashes get: a cheaper one answered an unknown name in 2 ms and a
// wrong password in 77, which told who has an account.
var dummy struct {
	mu   sync.Mutex
	cost int
	hash []byte
}

func dummyHash() []byte {
	dummy.mu.Lock()
	defer dummy.mu.Unlock()
	if dummy.cost != BcryptCost {
		h, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), BcryptCost)
		if err != nil { // only for a cost out of range, which BcryptCost is not
			panic("users: dummy password hash: " + err.Error())
		}
		dummy.hash, dummy.cost = h, BcryptCost
	}
	return dummy.hash
}

// UpdateUser changes a role and/or a password (empty: unchanged).
func (s *Store) UpdateUser(name, role, password string, now time.Time) (User, error) {
	if role != "" && !ValidRole(role) {
		return User{}, ErrBadRole
	}
	var hash []byte
	if password != "" {
		if err := checkPassword(password); err != nil {
			return User{}, err
		}
		var err error
		if hash, err = bcrypt.GenerateFromPassword([]byte(password), BcryptCost); err != nil {
			return User{}, fmt.Errorf("hash password: %w", err)
		}
	}
	var u User
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		var err error
		if u, err = getUser(b, name); err != nil {
			return err
		}
		if role != "" && role != RoleAdmin && u.Role == RoleAdmin && countAdmins(b) == 1 {
			return ErrLastAdmin
		}
		if role != "" {
			u.Role = role
		}
		if hash != nil {
			u.Hash, u.MustChangePassword = hash, false
		}
		u.UpdatedAt = now.UTC()
		return putUser(b, u)
	})
	return u.public(), err
}

// DeleteUser removes a user; never the last admin.
func (s *Store) DeleteUser(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		u, err := getUser(b, name)
		if err != nil {
			return err
		}
		if u.Role == RoleAdmin && countAdmins(b) == 1 {
			return ErrLastAdmin
		}
		return b.Delete([]byte(name))
	})
}

func countAdmins(b *bolt.Bucket) int {
	n := 0
	b.ForEach(func(_, v []byte) error {
		var u User
		if json.Unmarshal(v, &u) == nil && u.Role == RoleAdmin {
			n++
		}
		return nil
	})
	return n
}

// EnsureAdmin creates "admin" with a random password when there are no users
// at all, and returns the password ("" when users existed). The account must
// change its password before it may do anything else.
func (s *Store) EnsureAdmin(now time.Time) (string, error) {
	users, err := s.Users()
	if err != nil || len(users) > 0 {
		return "", err
	}
	password := randomToken(12)
	if _, err := s.addUser("admin", RoleAdmin, password, now, true); err != nil {
		return "", err
	}
	return password, nil
}

// Audit appends an entry to the audit log.
func (s *Store) Audit(e AuditEntry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(binary.BigEndian.AppendUint64(nil, seq), raw)
	})
}

// AuditLog returns the newest entries first, at most limit.
func (s *Store) AuditLog(limit int) ([]AuditEntry, error) {
	out := []AuditEntry{}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode audit entry: %w", err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// randomToken is n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}
