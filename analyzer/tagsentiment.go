package analyzer

import (
	"slices"

	"dongting/taxonomy"
)

// tagSentiment scores a tag from the customer clauses holding its evidence;
// when they carry no cue, from their sentences; failing that, the record's.
func (a *Analyzer) tagSentiment(spans []taxonomy.Span, tokCl []int32, clauses []clause, recordSum float64) Sentiment {
	var seen []int32 // clauses already counted; a tag has few
	sum, cued := 0.0, false
	for _, sp := range spans {
		c := tokCl[sp.First]
		if slices.Contains(seen, c) || int(c) >= len(clauses) || clauses[c].speaker != taxonomy.SpeakerCustomer {
			continue
		}
		seen = append(seen, c)
		sum += clauses[c].raw
		cued = cued || clauses[c].cued
	}
	if cued {
		return sentimentOf(sum)
	}
	sum = 0
	for _, c := range seen {
		lo, hi := int(c), int(c)
		for lo > 0 && !clauses[lo-1].sentEnd && clauses[lo-1].speaker == clauses[c].speaker {
			lo--
		}
		for hi < len(clauses)-1 && !clauses[hi].sentEnd && clauses[hi+1].speaker == clauses[c].speaker {
			hi++
		}
		for k := lo; k <= hi; k++ {
			sum += clauses[k].raw
			cued = cued || clauses[k].cued
		}
	}
	if cued {
		return sentimentOf(sum)
	}
	return sentimentOf(recordSum)
}
