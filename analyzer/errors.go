package analyzer

// Error is the one error every layer returns for input it refuses: what
// kind of refusal it is, the field it is about and why. The API turns the
// kind into a status and an error code in one place; nothing below it
// knows about HTTP.
type Error struct {
	Kind   Kind
	Field  string
	Reason string
	// Limit names the budget a query is past (terms, depth, scans,
	// values), for TooComplex: the query is well formed but refused.
	Limit string
	// Where is the package that refused, when its name helps the message
	// ("access", "alerts").
	Where string
}

// Kind is what kind of input an Error refuses.
type Kind int

const (
	Invalid       Kind = iota // a field's value is not allowed
	TooLarge                  // a field's value is over its size limit
	BadParameter              // a request parameter (a query's) is not understood
	TooComplex                // a query is past the query budget
	InvalidConfig             // a configuration document is not valid
)

func (e *Error) Error() string {
	msg := e.Field + ": " + e.Reason
	if e.Where != "" {
		msg = e.Where + ": " + msg
	}
	return msg
}
