package analyzer

// Analysis is the result for one record (the `dongting analyze` contract).
type Analysis struct {
	ID         string    `json:"id"`
	Sentiment  Sentiment `json:"sentiment"`
	Severity   string    `json:"severity"`
	Praise     bool      `json:"praise"`
	Redline    []string  `json:"redline"`
	Tags       []Tag     `json:"tags"`
	Dimensions []Tag     `json:"dimensions"`
	Signals    []Signal  `json:"signals"`
	Keywords   []string  `json:"keywords"`
	PII        PIICounts `json:"pii"`
	// Rejected are the scenes a rule found that the scene model did not
	// confirm (their tags were dropped): where rules and model disagree.
	Rejected []Rejected `json:"rejected,omitempty"`
	// Text is the record's text after PII masking (turns joined by
	// newlines for a JSON transcript): what may be stored and indexed.
	Text string `json:"-"`
}

// Rejected is a scene a rule found and the model did not confirm.
type Rejected struct {
	Scene      string   `json:"scene"`
	Confidence float64  `json:"confidence"` // the model's probability, below its confirm threshold
	Tags       []string `json:"tags"`       // the rule tags dropped with it
}

// Tag is a matched taxonomy node (a touchpoint, or a dimension).
type Tag struct {
	ID    string   `json:"id"`
	Scene string   `json:"scene,omitempty"`
	Path  []string `json:"path"`
	// Parents are the ids of the node's ancestors, nearest first: what the
	// record counts under in rollups and searches even after the taxonomy
	// has changed.
	Parents   []string   `json:"parents"`
	Rule      string     `json:"rule"`
	Sentiment Sentiment  `json:"sentiment"`
	Evidence  []Evidence `json:"evidence"`
	// Source says who decided the tag: "rule" (the model does not know its
	// scene, or there is no model), "rule+model" (a rule found it and the
	// model confirmed its scene) or "model" (the model proposed a scene no
	// rule found; Explanation then lists the words that weighed most).
	Source      string   `json:"source"`
	Confidence  *float64 `json:"confidence,omitempty"` // the model's probability for the tag's scene
	Explanation []string `json:"explanation,omitempty"`
}

// Evidence is matched text. Start and End are code-point offsets into the
// record's original text, or into turns[Turn].text for a JSON transcript.
type Evidence struct {
	Turn  *int   `json:"turn,omitempty"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Text  string `json:"text"`
}

// Signal is a severity or praise rule that fired.
type Signal struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Kind     string     `json:"kind"` // redline, severe, praise, sentiment
	Severity string     `json:"severity,omitempty"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Confidence is the red-line model's probability, for a red line only
	// the model found (id model-redline).
	Confidence *float64 `json:"confidence,omitempty"`
}
