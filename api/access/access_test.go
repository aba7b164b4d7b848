package access_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/api/access"
	"dongting/index/indextest"
	"dongting/index/store"
	"fmt"
)

// clock is a test's time: each reading is a minute after the last.
type clock struct{ t time.Time }

func (c *clock) now() time.Time {
	c.t = c.t.Add(time.Minute)
	return c.t
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))}
}

func openKeys(t *testing.T, db *store.Store, c *clock) *access.Keys {
	t.Helper()
	keys, err := access.Open(db, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func newKeys(t *testing.T) (*access.Keys, *clock) {
	t.Helper()
	c := newClock()
	return openKeys(t, indextest.DB(t, filepath.Join(t.TempDir(), "keys.db")), c), c
}

func create(t *testing.T, keys *access.Keys, name, role, scope string) (*access.Key, string) {
	t.Helper()
	key, secret, err := keys.Create(name, role, scope, "tester")
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return key, secret
}

func TestRoles(t *testing.T) {
	want := []string{"admin", "analyst", "viewer", "ingest"}
	if !slices.Equal(access.Roles, want) {
		t.Fatalf("roles %v, want %v", access.Roles, want)
	}
	if got := []string{access.Admin, access.Analyst, access.Viewer, access.Ingest}; !slices.Equal(got, want) {
		t.Fatalf("role constants %v, want %v", got, want)
	}
}

func TestCreate(t *testing.T) {
	keys, c := newKeys(t)
	key, secret, err := keys.Create("深圳看板", access.Viewer, " /华南区域/深圳/ ", "admin-key")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^dt_[0-9a-f]{8}_[0-9a-f]{32}$`).MatchString(secret) {
		t.Fatalf("secret %q is not dt_<8 hex>_<32 hex>", secret)
	}
	if !strings.HasPrefix(secret, "dt_"+key.ID+"_") {
		t.Fatalf("secret %q does not carry the key id %q", secret, key.ID)
	}
	sum := sha256.Sum256([]byte(secret))
	if key.Hash != hex.EncodeToString(sum[:]) {
		t.Fatalf("hash %q is not the hex SHA-256 of the secret", key.Hash)
	}
	if key.Name != "深圳看板" || key.Role != access.Viewer || key.Scope != "华南区域/深圳" || key.CreatedBy != "admin-key" || key.Revoked != nil {
		t.Fatalf("key %+v", key)
	}
	if !key.Created.Equal(c.t) || key.Created.Location() != time.UTC {
		t.Fatalf("created %v, want %v in UTC", key.Created, c.t)
	}

	// The key as JSON (what the API lists) holds neither secret nor hash.
	b, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte(key.Hash)) || bytes.Contains(b, []byte(`"hash"`)) {
		t.Fatalf("key JSON shows its secret or hash: %s", b)
	}

	other, secret2 := create(t, keys, "another", access.Viewer, "")
	if other.ID == key.ID || secret2 == secret {
		t.Fatalf("two keys share an id or secret: %s %s", key.ID, other.ID)
	}
}

func TestCreateRefuses(t *testing.T) {
	keys, _ := newKeys(t)
	for _, tc := range []struct {
		name, role, scope string
		field             string
	}{
		{"x", "root", "", "role"},
		{"x", "Admin", "", "role"},
		{"x", "", "", "role"},
		{"x", access.Viewer, "华南区域//深圳", "scope"},
		{strings.Repeat("名", 67), access.Viewer, "", "name"}, // 201 bytes
	} {
		key, secret, err := keys.Create(tc.name, tc.role, tc.scope, "")
		var ae *analyzer.Error
		if !errors.As(err, &ae) || ae.Field != tc.field {
			t.Errorf("create(%q, %q, %q): %v, want an error on %s", tc.name, tc.role, tc.scope, err, tc.field)
		}
		if key != nil || secret != "" {
			t.Errorf("create(%q, %q, %q) refused but gave %v %q", tc.name, tc.role, tc.scope, key, secret)
		}
	}
	if n := len(keys.List()); n != 0 {
		t.Fatalf("%d keys after refused creates", n)
	}
	_, _, err := keys.Create("x", "root", "", "")
	if want := `access: role: "root" is not one of admin, analyst, viewer, ingest`; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if _, _, err := keys.Create(strings.Repeat("a", 200), access.Viewer, "", ""); err != nil {
		t.Fatalf("a 200-byte name: %v", err)
	}
}

func TestCheck(t *testing.T) {
	keys, _ := newKeys(t)
	key, secret := create(t, keys, "south", access.Analyst, "华南区域")
	other, otherSecret := create(t, keys, "north", access.Viewer, "华北区域")

	got, err := keys.Check(secret)
	if err != nil || got.ID != key.ID || got.Role != access.Analyst {
		t.Fatalf("check: %+v, %v", got, err)
	}
	if got, err := keys.Check(otherSecret); err != nil || got.ID != other.ID {
		t.Fatalf("check other: %+v, %v", got, err)
	}

	last := "0"
	if secret[len(secret)-1] == '0' {
		last = "1"
	}
	// The right id with a wrong secret, and another key's id with this
	// key's secret.
	tampered := secret[:len(secret)-1] + last
	swapped := "dt_" + other.ID + strings.TrimPrefix(secret, "dt_"+key.ID)
	for _, bad := range []string{
		"",
		"dt_",
		"dt_" + key.ID,
		"dt_" + key.ID + "_",
		strings.TrimPrefix(secret, "dt_"),
		"DT_" + strings.TrimPrefix(secret, "dt_"),
		secret + " ",
		tampered,
		swapped,
		"dt_ffffffff_" + strings.Repeat("0", 32),
	} {
		if got, err := keys.Check(bad); !errors.Is(err, access.ErrUnknown) || got != nil {
			t.Errorf("check(%q) = %v, %v; want ErrUnknown", bad, got, err)
		}
	}
}

func TestAllows(t *testing.T) {
	for _, tc := range []struct {
		scope, org string
		want       bool
	}{
		{"", "", true},
		{"", "华北区域/天津/梅江家园", true},
		{"华南区域/深圳", "华南区域/深圳", true},
		{"华南区域/深圳", "华南区域/深圳/碧海花园", true},
		{"华南区域/深圳", "华南区域/深圳湾", false},
		{"华南区域/深圳", "华南区域/深圳湾/海景苑", false},
		{"华南区域/深圳", "华南区域/深", false},
		{"华南区域/深圳", "华南区域", false},
		{"华南区域/深圳", "华南区域/广州", false},
		{"华南区域/深圳", "华东区域/深圳", false},
		{"华南区域/深圳", "", false},
		{"华南区域", "华南区域/深圳/碧海花园", true},
		{"华南区域", "华南区域二部", false},
	} {
		k := &access.Key{Scope: tc.scope}
		if got := k.Allows(tc.org); got != tc.want {
			t.Errorf("scope %q allows %q = %v, want %v", tc.scope, tc.org, got, tc.want)
		}
	}

	// A scope is trimmed when the key is made, so a stray slash does not
	// narrow it to nothing.
	keys, _ := newKeys(t)
	key, _ := create(t, keys, "sz", access.Viewer, "华南区域/深圳/")
	if !key.Allows("华南区域/深圳/碧海花园") || key.Allows("华南区域/深圳湾") {
		t.Fatalf("scope %q: wrong coverage", key.Scope)
	}
}

func TestListNewestFirst(t *testing.T) {
	keys, _ := newKeys(t)
	if l := keys.List(); l == nil || len(l) != 0 {
		t.Fatalf("no keys: %v", l)
	}
	var want []string
	for _, name := range []string{"first", "second", "third"} {
		key, _ := create(t, keys, name, access.Viewer, "")
		want = append([]string{key.ID}, want...)
	}
	l := keys.List()
	var ids []string
	for _, k := range l {
		ids = append(ids, k.ID)
	}
	if !slices.Equal(ids, want) || l[0].Name != "third" || l[2].Name != "first" {
		t.Fatalf("list %v, want ids %v", l, want)
	}
	// The list is a copy: changing it changes no key.
	l[0].Role = access.Admin
	if keys.List()[0].Role != access.Viewer {
		t.Fatal("changing a listed key changed the store")
	}
}

// Keys made in the same instant list in id order, the same at every call.
func TestListOfKeysMadeAtOnce(t *testing.T) {
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	keys, err := access.Open(indextest.DB(t, filepath.Join(t.TempDir(), "keys.db")), func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 8 {
		key, _ := create(t, keys, fmt.Sprintf("k%d", i), access.Viewer, "")
		want = append(want, key.ID)
	}
	slices.Sort(want)
	for range 20 {
		var ids []string
		for _, k := range keys.List() {
			ids = append(ids, k.ID)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("list %v, want %v", ids, want)
		}
	}
}

func TestRevoke(t *testing.T) {
	keys, c := newKeys(t)
	key, secret := create(t, keys, "old", access.Admin, "")
	_, keep := create(t, keys, "keep", access.Viewer, "")

	if got, err := keys.Revoke("nope"); !errors.Is(err, access.ErrNotFound) || got != nil {
		t.Fatalf("revoke of an unknown id: %v, %v", got, err)
	}
	revoked, err := keys.Revoke(key.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := c.t
	if revoked.ID != key.ID || revoked.Revoked == nil || !revoked.Revoked.Equal(at) || revoked.Hash != key.Hash {
		t.Fatalf("revoked %+v, want revoked at %v", revoked, at)
	}
	if _, err := keys.Check(secret); !errors.Is(err, access.ErrUnknown) {
		t.Fatalf("a revoked key still checks: %v", err)
	}
	if _, err := keys.Check(keep); err != nil {
		t.Fatalf("revoking one key ended another: %v", err)
	}
	// Revoking again keeps the first time.
	again, err := keys.Revoke(key.ID)
	if err != nil || again.Revoked == nil || !again.Revoked.Equal(at) {
		t.Fatalf("second revoke: %+v, %v; want revoked at %v", again, err, at)
	}
	for _, k := range keys.List() {
		if (k.ID == key.ID) != (k.Revoked != nil) {
			t.Fatalf("listed %s revoked=%v", k.ID, k.Revoked)
		}
	}
}

// TestReopen keeps keys, revocations and the audit log in a bbolt file and
// reads them back from it; the secrets themselves are never written.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	c := newClock()
	db := indextest.DB(t, path)
	keys := openKeys(t, db, c)
	live, liveSecret := create(t, keys, "live", access.Analyst, "华南区域/深圳")
	dead, deadSecret := create(t, keys, "dead", access.Ingest, "")
	if _, err := keys.Revoke(dead.ID); err != nil {
		t.Fatal(err)
	}
	if err := keys.Record(access.Entry{Key: live.ID, Action: "export", Target: "records.csv"}); err != nil {
		t.Fatal(err)
	}
	before := keys.List()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = indextest.DB(t, path)
	keys = openKeys(t, db, c)
	after := keys.List()
	if len(after) != len(before) {
		t.Fatalf("reopened: %d keys, want %d", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.ID != b.ID || a.Name != b.Name || a.Role != b.Role || a.Scope != b.Scope || a.Hash != b.Hash || a.CreatedBy != b.CreatedBy ||
			!a.Created.Equal(b.Created) || (a.Revoked == nil) != (b.Revoked == nil) || (a.Revoked != nil && !a.Revoked.Equal(*b.Revoked)) {
			t.Errorf("reopened key %+v, was %+v", a, b)
		}
	}
	if k, err := keys.Check(liveSecret); err != nil || k.ID != live.ID || !k.Allows("华南区域/深圳/碧海花园") {
		t.Fatalf("reopened check: %+v, %v", k, err)
	}
	if _, err := keys.Check(deadSecret); !errors.Is(err, access.ErrUnknown) {
		t.Fatalf("a key revoked before reopening checks: %v", err)
	}

	// The audit log goes on where it was.
	if err := keys.Record(access.Entry{Key: live.ID, Action: "export"}); err != nil {
		t.Fatal(err)
	}
	log, err := keys.Audit(0, "", 10)
	if err != nil || len(log) != 2 || log[0].Seq != 2 || log[1].Seq != 1 || log[1].Target != "records.csv" {
		t.Fatalf("audit after reopening: %+v, %v", log, err)
	}

	var hashes int
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				for _, s := range []string{liveSecret, deadSecret} {
					if bytes.Contains(k, []byte(s)) || bytes.Contains(v, []byte(s)) {
						t.Errorf("a secret is stored: %s = %s", k, v)
					}
				}
				if bytes.Contains(v, []byte(live.Hash)) || bytes.Contains(v, []byte(dead.Hash)) {
					hashes++
				}
				return nil
			})
		})
	})
	if err != nil || hashes != 2 {
		t.Fatalf("%d stored hashes, want 2 (%v)", hashes, err)
	}
}

func TestOpenCorrupt(t *testing.T) {
	db := indextest.DB(t, filepath.Join(t.TempDir(), "keys.db"))
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("api_keys")) // the store's bucket of keys
		if err != nil {
			return err
		}
		return b.Put([]byte("0badc0de"), []byte("{not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := access.Open(db, nil)
	if err == nil || keys != nil || !strings.HasPrefix(err.Error(), "access: ") {
		t.Fatalf("open of a corrupt key: %v, %v", keys, err)
	}
}
