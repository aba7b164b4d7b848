package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"dongting/index/store"
)

// runBackup writes a consistent snapshot of the store to a file: through a
// running server (-server), or straight from a stopped server's directory.
// The file is written beside its final name and checked before the rename,
// so a failed backup never leaves a half file under the name asked for.
func (m *Main) runBackup(ctx context.Context, args []string) error {
	fset := m.newFlagSet("backup")
	sf := m.storeFlags(fset)
	server := fset.String("server", "", "URL of a running server (e.g. http://127.0.0.1:8080); default: read -dir directly")
	out := fset.String("o", "", "the backup file to write (required)")
	overwrite := fset.Bool("force", false, "replace an existing backup file")
	apiKey := fset.String("key", m.Getenv("DONGTING_KEY"), "API key for -server (an admin key over the whole group; env DONGTING_KEY)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("backup: -o FILE is required")
	}
	if _, err := os.Stat(*out); err == nil && !*overwrite {
		return fmt.Errorf("backup: %s exists; use -force to replace it", *out)
	}
	tmp := *out + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	var n int64
	if *server != "" {
		n, err = backupFromServer(ctx, strings.TrimRight(*server, "/"), *apiKey, f)
	} else {
		var st *store.Store
		if st, err = store.Open(filepath.Join(sf.dir, "dongting.db"), false); err == nil {
			n, err = st.Backup(f, nil)
			st.Close()
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	stats, err := store.CheckBackup(tmp)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(m.Stdout, "backed up %d records (%d bytes) to %s\n", stats.Records, n, *out)
	return nil
}

func backupFromServer(ctx context.Context, base, apiKey string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/backup", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("%s answered %s: %s", base, resp.Status, strings.TrimSpace(string(b)))
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("cut short: %d of %d bytes", n, resp.ContentLength)
	}
	return n, err
}

// runRestore puts a backup in place as a data directory's store and
// rebuilds the search index from it (the rollups, alerts and outbox are in
// the backup, consistent with its records).
func (m *Main) runRestore(ctx context.Context, args []string) error {
	fset := m.newFlagSet("restore")
	c := m.commonFlags(fset)
	sf := m.storeFlags(fset)
	from := fset.String("from", "", "the backup file (required)")
	force := fset.Bool("force", false, "replace a store already in -dir")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("restore: -from FILE is required")
	}
	stats, err := store.CheckBackup(*from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	dbPath := filepath.Join(sf.dir, "dongting.db")
	if _, err := os.Stat(dbPath); err == nil {
		if !*force {
			return fmt.Errorf("restore: %s already holds a store; use another -dir or -force", sf.dir)
		}
		// bbolt's lock: a server running on this directory refuses the swap.
		st, err := store.Open(dbPath, false)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		st.Close()
	}
	if err := os.MkdirAll(sf.dir, 0o750); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := copyFile(*from, dbPath+".part"); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(dbPath+".part", dbPath); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(m.Stdout, "restored %d records into %s\n", stats.Records, sf.dir)
	reindex := []string{"-dir", sf.dir, "-tz", sf.tz, "-only", "index", "-jieba-dict", c.jiebaDict, "-taxonomy", c.taxonomy}
	if c.dataDir != "" {
		reindex = append(reindex, "-data-dir", c.dataDir)
	}
	return m.runReindex(ctx, reindex)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
