package index

// FoldInChunks sets the series per fold transaction and a hook run between
// a fold's transactions (an error stops the fold there, as a crash would).
func FoldInChunks(c *Corpus, series int, between func() error) {
	c.rollups.foldMu.Lock()
	defer c.rollups.foldMu.Unlock()
	c.rollups.foldChunk, c.rollups.afterChunk = series, between
}

// FoldNow folds the rollup log and reports how many commits it folded.
func FoldNow(c *Corpus) (int, error) { return c.rollups.fold(c.store.DB()) }
