package learn

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
)

// Linear is a linear model over hashed features with one output per class:
// independent sigmoids (multi-label, for scenes) or one softmax (for
// sentiment). Weights are kept as int8 with a scale per class, so a model
// of ~50k features and 17 classes is under a megabyte.
type Linear struct {
	Classes []string  `json:"classes"`
	Softmax bool      `json:"softmax"`
	Bias    []float64 `json:"bias"`
	Scale   []float64 `json:"scale"`
	// Thresholds per class, chosen on out-of-fold predictions of the
	// training data (never the dev split): see Fusion.
	Thresholds map[string]float64 `json:"thresholds,omitempty"`
	keys       []uint32           // sorted feature hashes
	weights    []int8             // len(keys) × len(Classes)
	// table is an open-addressing copy of keys and weights for lookups:
	// slots of stride bytes, each the key + 1 (0: empty) followed by its
	// weights, so that a lookup reads one cache line, not an index and then
	// a row of weights elsewhere.
	table  []byte
	stride uint32
	mask   uint32
}

// buildTable indexes the keys for one probe or two a lookup: a binary
// search over a third of a million keys misses the cache at every step,
// and the sentiment model is read for every record.
func (m *Linear) buildTable() {
	K := len(m.Classes)
	stride := uint32(8) // a power of two, so no slot straddles a cache line
	for stride < uint32(4+K) {
		stride <<= 1
	}
	n := uint32(1)
	for n < uint32(2*len(m.keys)+1) {
		n <<= 1
	}
	m.table, m.stride, m.mask = make([]byte, n*stride), stride, n-1
	for i, k := range m.keys {
		for j := slot(k) & m.mask; ; j = (j + 1) & m.mask {
			e := m.table[j*stride : (j+1)*stride]
			if binary.LittleEndian.Uint32(e) == 0 {
				binary.LittleEndian.PutUint32(e, k+1) // keys are featureBits wide
				for c, w := range m.weights[i*K : (i+1)*K] {
					e[4+c] = byte(w)
				}
				break
			}
		}
	}
}

func slot(k uint32) uint32 { return k * 0x9E3779B1 }

// find is the offset in table of feature f's weights, or -1. A model
// without a table (one made in code, not trained or read) has no keys.
func (m *Linear) find(f uint32) int {
	if m.table == nil {
		return -1
	}
	for j := slot(f) & m.mask; ; j = (j + 1) & m.mask {
		o := j * m.stride
		switch binary.LittleEndian.Uint32(m.table[o:]) {
		case 0:
			return -1
		case f + 1:
			return int(o) + 4
		}
	}
}

// Scores are the raw class scores (before the sigmoid or softmax). Each
// feature counts 1/√n for a text of n features, so a one-line comment and
// a two-page letter weigh their evidence alike against the bias.
func (m *Linear) Scores(f Features) []float64 {
	K := len(m.Classes)
	var small [32]int32
	sums := small[:0]
	if K <= len(small) {
		sums = small[:K]
	} else {
		sums = make([]int32, K)
	}
	// The features' first slots are read in a loop without branches, so
	// that their cache misses overlap rather than wait on one another; the
	// lookups then find them in the cache.
	var first [64]uint32
	for lo := 0; lo < len(f) && m.table != nil; lo += len(first) {
		batch := f[lo:min(lo+len(first), len(f))]
		for i, x := range batch {
			first[i] = binary.LittleEndian.Uint32(m.table[(slot(x)&m.mask)*m.stride:])
		}
		for i, x := range batch {
			if first[i] == 0 {
				continue // an empty slot: unknown
			}
			o := m.find(x)
			if o < 0 {
				continue
			}
			for k, w := range m.table[o : o+K] {
				sums[k] += int32(int8(w))
			}
		}
	}
	out := slices.Clone(m.Bias)
	v := featureValue(len(f))
	for k := range out {
		out[k] += float64(sums[k]) * m.Scale[k] * v
	}
	return out
}

func featureValue(n int) float64 {
	if n == 0 {
		return 0
	}
	return 1 / math.Sqrt(float64(n))
}

// Probabilities are the class probabilities of a text's features.
func (m *Linear) Probabilities(f Features) []float64 {
	s := m.Scores(f)
	if m.Softmax {
		return softmax(s)
	}
	for k := range s {
		s[k] = sigmoid(s[k])
	}
	return s
}

// Contribution is feature f's weight for class k (0 when unknown): how
// much one word pushed a decision, for explanations.
func (m *Linear) Contribution(f uint32, k int) float64 {
	o := m.find(f)
	if o < 0 {
		return 0
	}
	return float64(int8(m.table[o+k])) * m.Scale[k]
}

// Class is the index of a class, or -1.
func (m *Linear) Class(name string) int { return slices.Index(m.Classes, name) }

// WordFeature is the hashed feature of a single word, for Contribution.
func WordFeature(w string) uint32 {
	if isNumber(w) {
		w = "#"
	}
	return hashFeature('w', w, "")
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softmax(s []float64) []float64 {
	hi := math.Inf(-1)
	for _, v := range s {
		hi = math.Max(hi, v)
	}
	sum := 0.0
	out := make([]float64, len(s))
	for k, v := range s {
		out[k] = math.Exp(v - hi)
		sum += out[k]
	}
	for k := range out {
		out[k] /= sum
	}
	return out
}

// Models are what `dongting train` writes: the scene model and the
// sentiment model, and what they were trained from.
type Models struct {
	Version  int    `json:"version"`
	Taxonomy string `json:"taxonomy"` // the taxonomy's id and version the scene model knows
	Trained  string `json:"trained"`  // what it was trained from (counts, not texts)
	// Nodes are the taxonomy's node ids when the model was trained. A tag
	// of a node added since (a draft's new touchpoint) is the rules' alone:
	// the model has never seen its words and must not veto it.
	Nodes     []string `json:"nodes"`
	Scenes    *Linear  `json:"scenes"`
	Sentiment *Linear  `json:"sentiment"`
	// Redline is one sigmoid ("redline"): whether the text shows a red line
	// as LABELS.md defines it. Its thresholds work as the scene model's:
	// a P1 rule hit needs ConfirmKey, a red line no rule found SuggestKey.
	Redline *Linear `json:"redline"`
}

// Knows says whether the node existed when the model was trained.
func (ms *Models) Knows(node string) bool {
	_, ok := slices.BinarySearch(ms.Nodes, node)
	return ok
}

// FormatVersion is the layout of the model file.
const FormatVersion = 2

const magic = "DTMODEL1"

// Write encodes the models deterministically: the same models give the
// same bytes (no time in the gzip header, keys sorted).
func (ms *Models) Write(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	bw.WriteString(magic)
	head, err := json.Marshal(ms)
	if err != nil {
		return err
	}
	binary.Write(bw, binary.LittleEndian, uint32(len(head)))
	bw.Write(head)
	for _, m := range []*Linear{ms.Scenes, ms.Sentiment, ms.Redline} {
		binary.Write(bw, binary.LittleEndian, uint32(len(m.keys)))
		binary.Write(bw, binary.LittleEndian, m.keys)
		binary.Write(bw, binary.LittleEndian, m.weights)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// ReadModels decodes what Write wrote.
func ReadModels(r io.Reader) (*Models, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("learn: model file: %w", err)
	}
	br := bufio.NewReader(zr)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != magic {
		return nil, errors.New("learn: not a model file")
	}
	var n uint32
	if err := binary.Read(br, binary.LittleEndian, &n); err != nil || n > 1<<24 {
		return nil, errors.New("learn: model file header is damaged")
	}
	head = make([]byte, n)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("learn: model file: %w", err)
	}
	var ms Models
	if err := json.Unmarshal(head, &ms); err != nil {
		return nil, fmt.Errorf("learn: model file header: %w", err)
	}
	if ms.Version != FormatVersion {
		return nil, fmt.Errorf("learn: model file version %d, this build reads %d", ms.Version, FormatVersion)
	}
	for _, m := range []*Linear{ms.Scenes, ms.Sentiment, ms.Redline} {
		if m == nil || len(m.Bias) != len(m.Classes) || len(m.Scale) != len(m.Classes) {
			return nil, errors.New("learn: model file has a damaged model")
		}
		if err := binary.Read(br, binary.LittleEndian, &n); err != nil || n > 1<<22 {
			return nil, errors.New("learn: model file is damaged")
		}
		m.keys = make([]uint32, n)
		m.weights = make([]int8, int(n)*len(m.Classes))
		if err := binary.Read(br, binary.LittleEndian, m.keys); err != nil {
			return nil, fmt.Errorf("learn: model file: %w", err)
		}
		if err := binary.Read(br, binary.LittleEndian, m.weights); err != nil {
			return nil, fmt.Errorf("learn: model file: %w", err)
		}
		if !sort.SliceIsSorted(m.keys, func(i, j int) bool { return m.keys[i] < m.keys[j] }) {
			return nil, errors.New("learn: model file keys are not sorted")
		}
		m.buildTable()
	}
	return &ms, nil
}
