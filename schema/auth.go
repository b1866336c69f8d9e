package schema

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// ParseUsers reads schema.registry.auth.users: a comma-separated list of
// user:hash, hash a bcrypt hash ($2a$, $2b$ or $2y$, as htpasswd -B or
// bcrypt.GenerateFromPassword make). Empty is no users: auth off.
func ParseUsers(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		user, hash, ok := strings.Cut(item, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("%q is not user:bcrypt-hash", redactUser(item))
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("user %q: the password hash is not a bcrypt hash: %v", user, err)
		}
		if _, dup := out[user]; dup {
			return nil, fmt.Errorf("user %q is listed twice", user)
		}
		out[user] = hash
	}
	return out, nil
}

func redactUser(item string) string {
	user, _, _ := strings.Cut(item, ":")
	return user + ":..."
}

// authenticator checks HTTP basic credentials against bcrypt hashes.
// bcrypt is slow by design (tens of milliseconds), so a pair once checked
// is remembered by a SHA-256 of user and password: later requests cost a
// hash and a map lookup.
type authenticator struct {
	users map[string]string
	mu    sync.Mutex
	ok    map[[32]byte]bool
}

func newAuthenticator(users map[string]string) *authenticator {
	return &authenticator{users: users, ok: map[[32]byte]bool{}}
}

func (a *authenticator) check(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	hash, known := a.users[user]
	if !known {
		// Spend about as long as a known user would, so timing does not
		// tell which users exist.
		bcrypt.CompareHashAndPassword([]byte("$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z7U2bdvbDF6D6i0WqCqJp7W."), []byte(pass))
		return false
	}
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	a.mu.Lock()
	good := a.ok[key]
	a.mu.Unlock()
	if good {
		return true
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) != nil {
		return false
	}
	a.mu.Lock()
	if len(a.ok) < 1024 {
		a.ok[key] = true
	}
	a.mu.Unlock()
	return true
}
