package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"dongting/index/tagging"
)

const taxonomyUsage = `usage: dongting taxonomy <subcommand> [flags] (against a running server: -server, -key)

  versions                      the stored versions, newest first
  get [-version N]              print a version's source (YAML); default: the one in force
  put FILE [-note T] [-force]   replace the taxonomy (YAML or JSON), then follow the re-tagging
  rollback N [-note T] [-force] put version N in force again (as a new version)
  dryrun FILE [-limit N|all]    what a draft would change on the stored records
  rule 'RULE' [-limit N|all]    what one rule matches on the stored records
  job [-wait]                   the re-tagging's progress
  golden get | golden put FILE  the golden set changes are checked against
  discover [-target untagged|negative] [-min-docs N]
                                emerging terms in records the taxonomy misses
`

// client calls a running server's API with a key.
type client struct {
	base, key string
	http      *http.Client
}

// apiError is an error answer of the API, kept whole for the caller.
type apiError struct {
	Status int
	Body   []byte
}

func (e *apiError) Error() string {
	var out struct {
		Error struct{ Code, Message, Field string }
	}
	if json.Unmarshal(e.Body, &out) == nil && out.Error.Message != "" {
		if out.Error.Field != "" {
			return fmt.Sprintf("%s (%s): %s", out.Error.Code, out.Error.Field, out.Error.Message)
		}
		return out.Error.Code + ": " + out.Error.Message
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

func (c *client) do(ctx context.Context, method, path, ctype string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, &apiError{Status: resp.StatusCode, Body: b}
	}
	return b, nil
}

func (c *client) json(ctx context.Context, method, path, ctype string, body io.Reader, v any) error {
	b, err := c.do(ctx, method, path, ctype, body)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (m *Main) runTaxonomy(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(m.Stderr, taxonomyUsage)
		return errors.New("taxonomy: give a subcommand")
	}
	sub := args[0]
	args = args[1:]
	if sub == "golden" {
		if len(args) == 0 || (args[0] != "get" && args[0] != "put") {
			return errors.New("taxonomy golden: get or put FILE")
		}
		sub, args = "golden "+args[0], args[1:]
	}
	fset := m.newFlagSet("taxonomy " + sub)
	server := fset.String("server", envOr(m.Getenv, "DONGTING_SERVER", "http://127.0.0.1:8080"), "URL of the running server (env DONGTING_SERVER)")
	apiKey := fset.String("key", m.Getenv("DONGTING_KEY"), "API key: an admin or analyst key over the whole group for changes (env DONGTING_KEY)")
	version := fset.Int("version", 0, "version to print (get)")
	note := fset.String("note", "", "why the change is made (put, rollback)")
	force := fset.Bool("force", false, "take a change that makes the golden set worse (put, rollback)")
	limit := fset.String("limit", "", "records to read, newest first: a number or all (dryrun, rule, discover; default 20000)")
	samples := fset.Int("samples", 3, "sample records per node or cluster (dryrun, rule, discover)")
	wait := fset.Bool("wait", true, "follow the re-tagging until it is done (put, rollback, job)")
	asJSON := fset.Bool("json", false, "print the API's JSON answer")
	target := fset.String("target", "untagged", "records to explain: untagged or negative (discover)")
	minDocs := fset.Int("min-docs", 5, "records a term must be in (discover)")
	// Positional arguments may come before the flags (put FILE -force).
	var pos []string
	for len(args) > 0 {
		if err := fset.Parse(args); err != nil {
			return err
		}
		if fset.NArg() == 0 {
			break
		}
		pos = append(pos, fset.Arg(0))
		args = fset.Args()[1:]
	}
	c := &client{base: strings.TrimRight(*server, "/"), key: *apiKey, http: &http.Client{Timeout: 10 * time.Minute}}
	scan := url.Values{}
	if *limit != "" {
		scan.Set("limit", *limit)
	}
	scan.Set("samples", strconv.Itoa(*samples))
	need := func(n int, what string) error {
		if len(pos) != n {
			return fmt.Errorf("taxonomy %s: give %s", sub, what)
		}
		return nil
	}
	printJSON := func(b []byte) error {
		var buf bytes.Buffer
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := m.Stdout.Write(buf.Bytes())
		return err
	}
	switch sub {
	case "versions":
		var out struct{ Versions []tagging.Version }
		if err := c.json(ctx, "GET", "/api/v1/taxonomy/versions", "", nil, &out); err != nil {
			return err
		}
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "VERSION\tCREATED\tAUTHOR\tNODES\tCHANGED\tGOLDEN F1\tNOTE")
		for _, v := range out.Versions {
			golden := "-"
			if v.Golden != nil {
				golden = fmt.Sprintf("%.3f → %.3f", v.Golden.Before.F1, v.Golden.After.F1)
				if v.Forced {
					golden += " (forced"
					if len(v.Golden.WorseNodes) > 0 {
						golden += "; worse: " + strings.Join(v.Golden.WorseNodes, ", ")
					}
					golden += ")"
				}
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%s\t%s\n", v.Version, v.CreatedAt.Local().Format("2006-01-02 15:04"), v.Author, v.Nodes, len(v.Diff), golden, v.Note)
		}
		return w.Flush()
	case "get":
		n := *version
		if n == 0 {
			var out struct{ Versions []tagging.Version }
			if err := c.json(ctx, "GET", "/api/v1/taxonomy/versions", "", nil, &out); err != nil {
				return err
			}
			if len(out.Versions) == 0 {
				return errors.New("taxonomy get: no version stored")
			}
			n = out.Versions[0].Version
		}
		b, err := c.do(ctx, "GET", fmt.Sprintf("/api/v1/taxonomy/versions/%d?format=yaml", n), "", nil)
		if err != nil {
			return err
		}
		_, err = m.Stdout.Write(b)
		return err
	case "put", "rollback":
		if err := need(1, map[string]string{"put": "the taxonomy file", "rollback": "the version number"}[sub]); err != nil {
			return err
		}
		var b []byte
		var err error
		if sub == "put" {
			src, rerr := os.ReadFile(pos[0])
			if rerr != nil {
				return fmt.Errorf("taxonomy put: %w", rerr)
			}
			q := url.Values{"note": {*note}}
			if *force {
				q.Set("force", "true")
			}
			b, err = c.do(ctx, "PUT", "/api/v1/taxonomy?"+q.Encode(), "application/yaml", bytes.NewReader(src))
		} else {
			n, perr := strconv.Atoi(pos[0])
			if perr != nil {
				return fmt.Errorf("taxonomy rollback: %q is not a version number", pos[0])
			}
			body, _ := json.Marshal(map[string]any{"version": n, "note": *note, "force": *force})
			b, err = c.do(ctx, "POST", "/api/v1/taxonomy/rollback", "application/json", bytes.NewReader(body))
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			var out struct{ Golden tagging.GoldenReport }
			if json.Unmarshal(ae.Body, &out) == nil {
				m.printGolden(&out.Golden)
			}
			return fmt.Errorf("taxonomy %s: refused: the golden set gets worse (nodes %s); -force takes it anyway", sub, strings.Join(out.Golden.WorseNodes, ", "))
		}
		if err != nil {
			return fmt.Errorf("taxonomy %s: %w", sub, err)
		}
		if *asJSON {
			return printJSON(b)
		}
		var res tagging.Result
		if err := json.Unmarshal(b, &res); err != nil {
			return err
		}
		v := res.Version
		fmt.Fprintf(m.Stdout, "version %d by %s: %d nodes changed\n", v.Version, v.Author, len(v.Diff))
		for _, d := range v.Diff {
			fmt.Fprintf(m.Stdout, "  %-8s %s %s %s\n", d.Change, d.Node, d.Name, strings.Join(d.Fields, ","))
		}
		if res.Golden != nil {
			m.printGolden(res.Golden)
		}
		if *wait {
			return m.followJob(ctx, c)
		}
		return nil
	case "dryrun":
		if err := need(1, "the draft taxonomy file"); err != nil {
			return err
		}
		src, err := os.ReadFile(pos[0])
		if err != nil {
			return fmt.Errorf("taxonomy dryrun: %w", err)
		}
		b, err := c.do(ctx, "POST", "/api/v1/taxonomy/dryrun?"+scan.Encode(), "application/yaml", bytes.NewReader(src))
		if err != nil {
			return fmt.Errorf("taxonomy dryrun: %w", err)
		}
		if *asJSON {
			return printJSON(b)
		}
		var dr tagging.DryRun
		if err := json.Unmarshal(b, &dr); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "read %d of %d records; untagged %d → %d; %d nodes change\n", dr.Scanned, dr.Records, dr.Untagged.Before, dr.Untagged.After, dr.Changed)
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NODE\tNAME\tBEFORE\tAFTER\tGAINED\tLOST\tA SAMPLE")
		for _, n := range dr.Nodes {
			if n.Gained+n.Lost == 0 {
				continue
			}
			s := ""
			if len(n.Gains) > 0 {
				s = "+ " + n.Gains[0].ID + " " + n.Gains[0].Snippet
			} else if len(n.Losses) > 0 {
				s = "- " + n.Losses[0].ID + " " + n.Losses[0].Snippet
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t+%d\t-%d\t%s\n", n.Node, n.Name, n.Before, n.After, n.Gained, n.Lost, s)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if dr.Golden != nil {
			m.printGolden(dr.Golden)
		}
		return nil
	case "rule":
		if err := need(1, "the rule"); err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"rule": pos[0]})
		b, err := c.do(ctx, "POST", "/api/v1/taxonomy/dryrun/rule?"+scan.Encode(), "application/json", bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("taxonomy rule: %w", err)
		}
		if *asJSON {
			return printJSON(b)
		}
		var rr tagging.RuleRun
		if err := json.Unmarshal(b, &rr); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%d of %d records read match (%.1f%%)\n", rr.Matches, rr.Scanned, 100*rr.Share)
		for _, s := range rr.Samples {
			fmt.Fprintf(m.Stdout, "  %s  %s\n", s.ID, s.Snippet)
		}
		return nil
	case "job":
		if *wait {
			return m.followJob(ctx, c)
		}
		b, err := c.do(ctx, "GET", "/api/v1/taxonomy/job", "", nil)
		if err != nil {
			return err
		}
		return printJSON(b)
	case "golden get":
		b, err := c.do(ctx, "GET", "/api/v1/taxonomy/golden", "", nil)
		if err != nil {
			return err
		}
		_, err = m.Stdout.Write(b)
		return err
	case "golden put":
		if err := need(1, "the golden set file (JSON Lines)"); err != nil {
			return err
		}
		src, err := os.ReadFile(pos[0])
		if err != nil {
			return fmt.Errorf("taxonomy golden put: %w", err)
		}
		var out struct{ Cases int }
		if err := c.json(ctx, "PUT", "/api/v1/taxonomy/golden", "application/x-ndjson", bytes.NewReader(src), &out); err != nil {
			return fmt.Errorf("taxonomy golden put: %w", err)
		}
		fmt.Fprintf(m.Stdout, "golden set: %d cases\n", out.Cases)
		return nil
	case "discover":
		q := scan
		q.Set("target", *target)
		q.Set("min_docs", strconv.Itoa(*minDocs))
		b, err := c.do(ctx, "GET", "/api/v1/discovery/terms?"+q.Encode(), "", nil)
		if err != nil {
			return fmt.Errorf("taxonomy discover: %w", err)
		}
		if *asJSON {
			return printJSON(b)
		}
		var d tagging.Discovery
		if err := json.Unmarshal(b, &d); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%d %s records against %d others\n", d.Targets, d.Target, d.Background)
		for i, cl := range d.Clusters {
			var terms []string
			for _, t := range cl.Terms {
				terms = append(terms, fmt.Sprintf("%s(%d/%d, G²=%.0f)", t.Term, t.Target, t.Background, t.G2))
			}
			fmt.Fprintf(m.Stdout, "%d. %s\n   suggested: %s under %s, rule: %s\n", i+1, strings.Join(terms, " "), cl.Suggested.Name, orNone(cl.Suggested.Scene), cl.Suggested.Rule)
			for _, s := range cl.Samples {
				fmt.Fprintf(m.Stdout, "   %s  %s\n", s.ID, s.Snippet)
			}
		}
		return nil
	}
	fmt.Fprint(m.Stderr, taxonomyUsage)
	return fmt.Errorf("taxonomy: unknown subcommand %q", sub)
}

func orNone(s string) string {
	if s == "" {
		return "(no scene)"
	}
	return s
}

func (m *Main) printGolden(g *tagging.GoldenReport) {
	fmt.Fprintf(m.Stdout, "golden set (%d cases): micro F1 %.3f → %.3f (P %.3f → %.3f, R %.3f → %.3f)\n",
		g.Cases, g.Before.F1, g.After.F1, g.Before.Precision, g.After.Precision, g.Before.Recall, g.After.Recall)
	for _, n := range g.Nodes {
		if n.Worse {
			fmt.Fprintf(m.Stdout, "  worse: %s F1 %.3f → %.3f\n", n.Node, n.Before.F1, n.After.F1)
		}
	}
}

// followJob shows the re-tagging's progress until it ends.
func (m *Main) followJob(ctx context.Context, c *client) error {
	var bar *progressbar.ProgressBar
	for {
		var j tagging.Job
		if err := c.json(ctx, "GET", "/api/v1/taxonomy/job", "", nil, &j); err != nil {
			return err
		}
		if bar == nil {
			bar = progressbar.NewOptions(j.Total, progressbar.OptionSetWriter(m.Stderr), progressbar.OptionSetDescription(fmt.Sprintf("re-tagging (version %d)", j.Version)),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("records"),
				progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond))
		}
		_ = bar.Set(min(j.Done, j.Total))
		switch j.State {
		case tagging.JobDone, tagging.JobIdle:
			_ = bar.Finish()
			fmt.Fprintln(m.Stderr)
			fmt.Fprintf(m.Stdout, "re-tagged %d records with version %d\n", j.Done, j.Version)
			return nil
		case tagging.JobFailed:
			fmt.Fprintln(m.Stderr)
			return fmt.Errorf("taxonomy: re-tagging failed: %s (it resumes at the next start)", j.Error)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
