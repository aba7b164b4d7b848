package index

// FoldInChunks: see rollup.Rollups.FoldInChunks.
func FoldInChunks(c *Corpus, series int, between func() error) {
	c.rollups.FoldInChunks(series, between)
}

// FoldNow folds the rollup log and reports how many commits it folded.
func FoldNow(c *Corpus) (int, error) { return c.rollups.Fold() }
