package tagging

import (
	"testing"
)

// FuzzParseGolden feeds the golden-set parser (posted over the API): an
// error or cases that each have text or turns and expected ids.
func FuzzParseGolden(f *testing.F) {
	f.Add([]byte(`{"text":"电梯困人了","expect":["facilities.elevator.entrapment"]}` + "\n"))
	f.Add([]byte("\n\n{\"turns\":[{\"speaker\":\"customer\",\"text\":\"电梯坏了\"}],\"expect\":[\"a\"]}\n{\"text\":\"x\"}"))
	f.Add([]byte("{\"text\":\"\xff\",\"expect\":[\"a\"]}"))
	f.Add([]byte(`{"text":"a","expect":["a"],"nps":11}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		cases, err := ParseGolden(src, nil)
		if err != nil {
			return
		}
		if len(cases) == 0 {
			t.Fatal("no cases and no error")
		}
		for _, c := range cases {
			if len(c.Expect) == 0 || c.ID == "" {
				t.Fatalf("accepted a case without expected ids or id: %+v", c)
			}
		}
	})
}
