// Package access holds API keys: stored only as SHA-256 hashes in bbolt,
// each with a role and an org scope (a subtree of the org path).
package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/index/store"
)

var bucketKeys = []byte("api_keys") // key id → Key JSON

// Roles, from most to least powerful.
const (
	Admin   = "admin"   // everything in scope; keys, routing and backups with the whole-group scope
	Analyst = "analyst" // read, export, act on alerts
	Viewer  = "viewer"  // read
	Ingest  = "ingest"  // write records, nothing else
)

// Roles lists the roles.
var Roles = []string{Admin, Analyst, Viewer, Ingest}

// Key is an API key as stored: never its secret.
type Key struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Scope     string     `json:"scope"` // org subtree; "" is the whole group
	Hash      string     `json:"-"`     // hex SHA-256 of the secret
	Created   time.Time  `json:"created"`
	CreatedBy string     `json:"created_by,omitempty"`
	Revoked   *time.Time `json:"revoked,omitempty"`
}

// Allows reports whether the key's scope covers an org path.
func (k *Key) Allows(org string) bool {
	return analyzer.InScope(org, k.Scope)
}

// Keys is the key store.
type Keys struct {
	db   boltDB
	now  func() time.Time
	mu   sync.RWMutex
	byID map[string]*Key
}

// boltDB is what this package needs of the file it keeps its buckets in:
// its transactions (the record store, *store.Store, or a bare *bolt.DB).
type boltDB interface {
	View(func(*bolt.Tx) error) error
	Update(func(*bolt.Tx) error) error
}

// Open loads the keys of a store.
func Open(db boltDB, now func() time.Time) (*Keys, error) {
	if now == nil {
		now = time.Now
	}
	k := &Keys{db: db, now: now, byID: map[string]*Key{}}
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketKeys)
		if err != nil {
			return err
		}
		return b.ForEach(func(_, v []byte) error {
			var st storedKey
			if err := json.Unmarshal(v, &st); err != nil {
				return err
			}
			st.Key.Hash = st.Hash
			k.byID[st.ID] = &st.Key
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	return k, nil
}

// Create makes a key and returns it with its secret, shown this once.
func (k *Keys) Create(name, role, scope, by string) (*Key, string, error) {
	if !slices.Contains(Roles, role) {
		return nil, "", &analyzer.Error{Kind: analyzer.Invalid, Where: "access", Field: "role", Reason: fmt.Sprintf("%q is not one of %s", role, strings.Join(Roles, ", "))}
	}
	scope = strings.Trim(scope, "/ ")
	if strings.Contains(scope, "//") {
		return nil, "", &analyzer.Error{Kind: analyzer.Invalid, Where: "access", Field: "scope", Reason: "an org path like 华南区域/深圳"}
	}
	if len(name) > 200 {
		return nil, "", &analyzer.Error{Kind: analyzer.Invalid, Where: "access", Field: "name", Reason: "at most 200 bytes"}
	}
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, "", err
	}
	id := hex.EncodeToString(raw[:4])
	secret := "dt_" + id + "_" + hex.EncodeToString(raw[4:])
	key := &Key{ID: id, Name: name, Role: role, Scope: scope, Hash: hash(secret), Created: k.now().UTC(), CreatedBy: by}
	if err := k.put(key); err != nil {
		return nil, "", err
	}
	return key, secret, nil
}

func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// storedKey is a key as kept in bbolt: with its hash.
type storedKey struct {
	Key
	Hash string `json:"hash"`
}

func (k *Keys) put(key *Key) error {
	b, err := json.Marshal(&storedKey{Key: *key, Hash: key.Hash})
	if err != nil {
		return err
	}
	err = k.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketKeys).Put([]byte(key.ID), b) })
	if err != nil {
		return fmt.Errorf("access: %w", err)
	}
	k.mu.Lock()
	k.byID[key.ID] = key
	k.mu.Unlock()
	return nil
}

// ErrUnknown is a secret that names no live key.
var ErrUnknown = errors.New("access: unknown or revoked key")

// Check finds the live key a secret belongs to.
func (k *Keys) Check(secret string) (*Key, error) {
	rest, ok := strings.CutPrefix(secret, "dt_")
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 {
		return nil, ErrUnknown
	}
	k.mu.RLock()
	key := k.byID[id]
	k.mu.RUnlock()
	if key == nil || key.Revoked != nil || subtle.ConstantTimeCompare([]byte(hash(secret)), []byte(key.Hash)) != 1 {
		return nil, ErrUnknown
	}
	return key, nil
}

// List returns every key, newest first.
func (k *Keys) List() []Key {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]Key, 0, len(k.byID))
	for _, key := range k.byID {
		out = append(out, *key)
	}
	// Newest first; keys made in the same instant by id, so the order is
	// the same at every call.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ErrNotFound is an id that names no key.
var ErrNotFound = errors.New("access: no such key")

// Revoke ends a key at once.
func (k *Keys) Revoke(id string) (*Key, error) {
	k.mu.RLock()
	key := k.byID[id]
	k.mu.RUnlock()
	if key == nil {
		return nil, ErrNotFound
	}
	if key.Revoked != nil {
		return key, nil
	}
	cp := *key
	t := k.now().UTC()
	cp.Revoked = &t
	return &cp, k.put(&cp)
}

var bucketAudit = []byte("audit") // seq → Entry JSON

// Entry is one audited action: exports, key changes, routing changes,
// alert actions, backups.
type Entry struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	Key    string    `json:"key"` // the acting key's id ("" when keys are off)
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Record appends an entry to the audit log.
func (k *Keys) Record(e Entry) error {
	e.At = k.now().UTC()
	err := k.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAudit)
		if err != nil {
			return err
		}
		b.FillPercent = 1.0
		if e.Seq, err = b.NextSequence(); err != nil {
			return err
		}
		v, err := json.Marshal(&e)
		if err != nil {
			return err
		}
		return b.Put(store.SeqKey(e.Seq), v)
	})
	if err != nil {
		return fmt.Errorf("access: audit: %w", err)
	}
	return nil
}

// Audit lists entries newest first, before seq (0: from the newest), of
// one action when action is not empty.
func (k *Keys) Audit(before uint64, action string, limit int) ([]Entry, error) {
	out := []Entry{}
	err := k.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		kk, v := c.Last()
		if before > 0 {
			if kk, v = c.Seek(store.SeqKey(before)); kk == nil {
				kk, v = c.Last()
			} else {
				kk, v = c.Prev()
			}
		}
		for ; kk != nil && len(out) < limit; kk, v = c.Prev() {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if action == "" || e.Action == action {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}
