package rollup

// FoldInChunks sets the series per fold transaction and a hook run between
// a fold's transactions (an error stops the fold there, as a crash would).
// For tests.
func (r *Rollups) FoldInChunks(series int, between func() error) {
	r.r.foldMu.Lock()
	defer r.r.foldMu.Unlock()
	r.r.foldChunk, r.r.afterChunk = series, between
}
