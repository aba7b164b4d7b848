// Command dongting is the one Dongting binary.
//
//	dongting analyze [FILE]                 JSON Lines or text lines in, analyses out
//	dongting eval sentiment --data CSV      sentiment accuracy, macro-F1, per class
//	dongting eval tags --data JSONL         tagging precision/recall/F1 per scene
//	dongting lexicon learn --data CSV …     derive data/sentiment/learned.txt
//	dongting serve [-dir var] [-demo N]     the service (see README)
//	dongting ingest [-server URL] FILE      NDJSON, JSON or CSV records into the store
//	dongting reindex [-dir var]             rebuild the search index from the store
//	dongting demo [-n N] [-seed S]          generated demo records as JSON Lines
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	// -tz must work on machines without a zone database (minimal
	// containers): the binary carries its own (~450 KB).
	_ "time/tzdata"

	"dongting/analyzer"
	"dongting/data"
)

// jiebaDictDir is set by the Makefile (-ldflags -X) to gojieba's dictionary
// directory in the module cache; -jieba-dict or DONGTING_JIEBA_DICT override it.
var jiebaDictDir string

// Main is the program, testable end to end: tests give it args, readers and
// writers instead of the process's own.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string

	seg *analyzer.Segmenter
}

func main() {
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := m.Run(ctx, os.Args[1:])
	stop()
	m.Close()
	var exit exitError
	switch {
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "dongting:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a status after the command has already
// explained itself on stderr.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `usage: dongting <command> [flags]

commands:
  analyze [FILE]            analyze JSON Lines records or plain text lines (stdin if no FILE)
  eval sentiment --data CSV evaluate sentiment on a labelled CSV (label,review)
  eval tags --data JSONL    evaluate tagging on a labelled JSON Lines set
  lexicon learn --data CSV  learn polarity weights from labelled CSVs
  serve [-dir DIR] [-demo N] run the service: REST API, record store, search
  ingest [-server URL] FILE store NDJSON, JSON or CSV records (directly or via a server)
  reindex [-dir DIR]        rebuild the search index and rollups from the record store
  taxonomy versions|get|put|rollback|dryrun|rule|job|golden|discover
                            the taxonomy's lifecycle on a running server (-server, -key)
  review list|label|retrain|models
                            the review queue, analysts' labels and retraining (-dir DIR, server stopped; while serving use /api/v1/review)
  keys create|list|revoke   API keys (-dir DIR, server stopped; while serving use /api/v1/keys)
  backup -o FILE            consistent snapshot of the store (-server URL while serving, or -dir)
  restore -from FILE        put a backup in place (-dir DIR) and rebuild its search index
  demo [-n N] [-seed S]     print generated demo records as JSON Lines
  bench [-n N]              ingest benchmark: full pipeline vs plain jieba+Bleve

Run "dongting <command> -h" for the flags of a command.
`

// Run runs one command.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "analyze":
		return m.runAnalyze(ctx, args[1:])
	case "eval":
		return m.runEval(ctx, args[1:])
	case "lexicon":
		return m.runLexicon(ctx, args[1:])
	case "train":
		return m.runTrain(ctx, args[1:])
	case "serve":
		return m.runServe(ctx, args[1:])
	case "ingest":
		return m.runIngest(ctx, args[1:])
	case "reindex":
		return m.runReindex(ctx, args[1:])
	case "keys":
		return m.runKeys(ctx, args[1:])
	case "taxonomy":
		return m.runTaxonomy(ctx, args[1:])
	case "review":
		return m.runReview(ctx, args[1:])
	case "backup":
		return m.runBackup(ctx, args[1:])
	case "restore":
		return m.runRestore(ctx, args[1:])
	case "demo":
		return m.runDemo(ctx, args[1:])
	case "bench":
		return m.runBench(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	fmt.Fprintf(m.Stderr, "dongting: unknown command %q\n\n%s", args[0], usage)
	return flag.ErrHelp
}

// Close frees the segmenter.
func (m *Main) Close() {
	if m.seg != nil {
		m.seg.Close()
		m.seg = nil
	}
}

// common are the flags every analyzing command takes.
type common struct {
	jiebaDict string
	dataDir   string
	taxonomy  string
	noModels  bool // rules only (training)
}

func (m *Main) commonFlags(fs *flag.FlagSet) *common {
	c := &common{}
	def := m.Getenv("DONGTING_JIEBA_DICT")
	if def == "" {
		def = jiebaDictDir
	}
	fs.StringVar(&c.jiebaDict, "jieba-dict", def, "gojieba dictionary directory (env DONGTING_JIEBA_DICT)")
	fs.StringVar(&c.dataDir, "data-dir", m.Getenv("DONGTING_DATA"), "data directory replacing the embedded one (env DONGTING_DATA)")
	fs.StringVar(&c.taxonomy, "taxonomy", "property", "taxonomy under data/taxonomy (property, mall)")
	return c
}

func (m *Main) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("dongting "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	return fs
}

// analyzer loads the data files, the one segmenter and the analyzer, and
// returns the data files for whatever else the command reads from them.
// withoutModels hides the trained models of a data directory: training
// starts from the rules, whatever model file (of whatever format) is there.
type withoutModels struct{ fs.FS }

func (w withoutModels) Open(name string) (fs.File, error) {
	if name == analyzer.ModelFile {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return w.FS.Open(name)
}

func (m *Main) analyzer(c *common) (*analyzer.Analyzer, fs.FS, error) {
	fsys, err := data.Open(c.dataDir)
	if err != nil {
		return nil, nil, err
	}
	if c.noModels {
		fsys = withoutModels{fsys}
	}
	res, err := analyzer.LoadResources(fsys, c.taxonomy)
	if err != nil {
		return nil, nil, err
	}
	if m.seg == nil {
		if m.seg, err = analyzer.NewSegmenter(c.jiebaDict, res.SegmenterWords()); err != nil {
			return nil, nil, err
		}
	}
	a, err := analyzer.New(m.seg, res)
	return a, fsys, err
}
