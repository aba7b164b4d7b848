package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"dongting/api/access"
	"dongting/index/store"
)

// runKeys manages API keys in a stopped server's directory (a running
// server holds the store's lock: use its admin API, /api/v1/keys).
func (m *Main) runKeys(_ context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("keys: create, list or revoke")
	}
	fset := m.newFlagSet("keys " + args[0])
	sf := m.storeFlags(fset)
	role := fset.String("role", access.Viewer, "admin, analyst, viewer or ingest (create)")
	scope := fset.String("scope", "", "org subtree the key sees, e.g. 华南区域/深圳; empty is the whole group (create)")
	name := fset.String("name", "", "who or what the key is for (create)")
	if err := fset.Parse(args[1:]); err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(sf.dir, "dongting.db"), false)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer st.Close()
	keys, err := access.Open(st, nil)
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		k, secret, err := keys.Create(*name, *role, *scope, "cli")
		if err != nil {
			return err
		}
		if err := keys.Record(access.Entry{Action: "key.create", Target: k.ID, Detail: k.Role + " (cli)"}); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "created key %s (%s, scope %q)\n%s\n(the secret is shown only now)\n", k.ID, k.Role, k.Scope, secret)
	case "list":
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tROLE\tSCOPE\tNAME\tCREATED\tREVOKED")
		for _, k := range keys.List() {
			revoked := ""
			if k.Revoked != nil {
				revoked = k.Revoked.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Scope, k.Name, k.Created.Format("2006-01-02 15:04"), revoked)
		}
		return w.Flush()
	case "revoke":
		if fset.NArg() != 1 {
			return errors.New("keys revoke: give the key id")
		}
		k, err := keys.Revoke(fset.Arg(0))
		if err != nil {
			return err
		}
		if err := keys.Record(access.Entry{Action: "key.revoke", Target: k.ID, Detail: "cli"}); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked key %s\n", k.ID)
	default:
		return fmt.Errorf("keys: unknown subcommand %q (create, list, revoke)", args[0])
	}
	return nil
}
