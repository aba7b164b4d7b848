package analyzer_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"

	"gopkg.in/yaml.v3"
)

// The red-line rules by class of wording (LABELS.md, "redline and
// severity"), on texts short enough that the rules decide alone: the
// red-line model reads texts of learn.MinSceneWords words or more.
func TestRedlineWording(t *testing.T) {
	a := analyzertest.New(t, "property")
	for _, tt := range []struct {
		text    string
		redline string // red-line rule ids; "" none
		notP1   bool   // and the severity is below P1
	}{
		// 110, 120 and 315 as calls, not as numbers.
		{"老人在小区里摔倒了，我们马上打了120", "safety", false},
		{"我家120平米的房子，物业费一年涨了两次", "", true},
		{"小区门口有人打架，我们拨打110报警", "violence police", false},
		{"小区离市区110公里，公交太少", "", true},
		{"开发商虚假宣传，我已经向315投诉", "escalation-body", false},
		// The police: called to a conflict, not an office that issues
		// papers, not a routine disturbance.
		{"楼下有人砸车，我们报警了，警察来了也没抓到人", "police", false},
		{"去派出所办理居住证，要求的材料太多了", "", true},
		{"楼下麻将馆噪音扰民到半夜，报警了也没用", "", true},
		// A death or a collapse that reached people, not fish or a road.
		{"鱼塘的鱼大量死亡，污水直排", "", true},
		{"河堤路面垮塌了，一直没人修", "", true},
		{"围墙倒塌砸伤了路过的老人", "safety", false},
		// The owners as a body, and collective action.
		{"我们全体家长要求幼儿园给个说法", "owners-as-body", false},
		{"业主们对开发商的做法很有意见", "owners-as-body", false},
		// A lift entrapment however it is worded, and a lift card or a
		// rider that is not one.
		{"电梯停在两层中间，我和孩子在里面出不来", "elevator-entrapment", false},
		{"早上电梯卡在8楼，里面有两个老人", "elevator-entrapment", false},
		{"电梯卡住了里面有人", "elevator-entrapment", false},
		{"我与朋友被卡在五楼与六楼之间，电梯按铃求助多次", "elevator-entrapment", false},
		{"经常关人在里面", "elevator-entrapment", false},
		{"电梯卡丢了，去物业补办要收五十块", "", true},
		{"关人家什么事", "", true},
		{"电梯里面有人贴小广告", "", true},
		// A fire that happened, in words that are not 火灾; smoke from a
		// kitchen and extinguishers are not one.
		{"地下室着了火，消防车来了才扑灭", "fire-gas-electric", false},
		{"楼道电瓶车自燃，好多人被熏得咳嗽", "fire-gas-electric", false},
		{"楼下烧烤店浓烟熏得我们不敢开窗", "", true},
		{"小区里的灭火器都过期了，也没人换", "", true},
		// A fight or a push, and small injuries; a wall pushed down is not.
		{"物业的人和业主打起来了，有人头破血流", "violence", false},
		{"保安把我推倒在地", "violence", false},
		{"孩子在滑梯上手臂擦伤了", "safety", false},
		{"开发商要推倒围墙改成停车位", "", true},
		{"票贩子非常凶恶的威胁病人，上段时间还打伤了病人", "violence", false},
		{"保安态度恶劣，我担心迟早会打人", "", true},
		{"保安推了我一把", "violence", false},
		{"保安帮我推一下车", "", true},
		// Harm told as poisoning or a fall that ended in hospital.
		{"孩子血铅超标", "safety", false},
		{"我家奶奶摔倒在废墟，至今在住院", "safety", false},
		// A paper or a channel that ran the story; the news on television
		// is not one.
		{"去年政法频道报道过这件事", "external-escalation", false},
		{"上了西地省都市频道不下3次", "external-escalation", false},
		{"电视上新闻说明天降温", "", true},
		// The owners as a body opposing or decided; 集体 of land is not.
		{"不管百分之九十九的业主反对将原消防通道关闭", "owners-as-body", false},
		{"我们集体决定拒绝收房", "owners-as-body", false},
		{"村集体土地被占用", "", true},
		{"有个别业主反对加装电梯", "", true},
		// A call to 12345 made before, not threatened; a threat after a
		// past call told in another clause is one.
		{"打电话给12345，市长热线，到现在也无反馈", "", true},
		{"我已经打了12345，再打也没用", "", true},
		{"半年打了三次12345，门禁还是坏的，再不修我就打市长热线", "hotline-threat", false},
		// A lift card is no entrapment; a few households are not the
		// owners as a body; police called about a party upstairs is P2.
		{"请问新的电梯卡在哪里办？要带什么材料？", "", true},
		{"有两三户业主不同意在架空层开托老所", "", true},
		{"楼上半夜还在蹦迪，我已经报警了", "", true},
		{"抢车位的两个业主吵着吵着就动手了", "violence", false},
		// The police called to a theft however it is put; 走极端 in
		// other words; "we" alone disagreeing is not the owners as a body.
		{"家里进贼了，我已经报了警", "police", false},
		{"逼急了我真不知道会干出什么事来", "external-escalation", false},
		{"绿化带被改成停车位了，我们不同意", "", true},
		// A fight named by a word the segmenter keeps whole; a lift that
		// slid or someone stuck in it, in speech; a near miss from above;
		// a threat put as not knowing what one will do; police called
		// about a building site at night is P2.
		{"地库里两个人打起来了，一个头都破了", "violence", false},
		{"早上坐电梯突然往下溜了两层，吓得腿都软了", "elevator-entrapment", false},
		{"五栋有人卡电梯里了，按了紧急呼叫半天没人应", "elevator-entrapment", false},
		{"楼上扔下来个花盆，差一点就砸到小孩头上", "safety", false},
		{"物业要是再不管楼上噪音，我真不知道自己会干出啥事来", "external-escalation", false},
		{"对面工地晚上十一点还在打桩，报了警警察来了也没用", "", true},
		// The lift card kept somewhere, asked for or topped up, however
		// the question is cut; a lift stuck with someone in it still is.
		{"电梯卡在前台领吗", "", true},
		{"新的电梯卡在哪领", "", true},
		{"电梯卡在管家那里吗", "", true},
		{"我的电梯卡在物业那里充值不了", "", true},
		{"电梯卡在8楼，我妈在里面出不来", "elevator-entrapment", false},
		{"电梯卡住了，打物业电话半小时没人来", "elevator-entrapment", false},
	} {
		res := analyze(t, a, &analyzer.Record{ID: "x", Text: tt.text})
		if got := strings.Join(res.Redline, " "); got != tt.redline {
			t.Errorf("%s\n  redline %q, want %q (signals %+v)", tt.text, got, tt.redline, res.Signals)
		}
		if tt.notP1 && res.Severity == analyzer.P1 {
			t.Errorf("%s\n  severity P1, want below", tt.text)
		}
	}
}

// The lexicon's sum reaches "very strongly negative" on any long letter
// that lists its problems: on a long record it does not make P2 by itself.
func TestLongPlainComplaintIsP3(t *testing.T) {
	a := analyzertest.New(t, "property")
	text := "小区的路灯坏了，晚上很黑，走路很不方便，垃圾桶也满了，臭味很大，绿化带里杂草很多，蚊子很多，电梯里的灯也不亮，楼道的墙皮脱落，很脏很乱，物业管理很差，服务态度不好，收费也不合理，希望有关部门督促物业整改。"
	res := analyze(t, a, &analyzer.Record{ID: "x", Text: text})
	if res.Sentiment.Label != analyzer.Negative || res.Severity != analyzer.P3 {
		t.Errorf("%s %s (signals %+v), want negative P3", res.Sentiment.Label, res.Severity, res.Signals)
	}
}

// A list item of a rules file's words may be another list (a YAML alias),
// taken in place; anything else is an error with its line.
func TestWordsTakeListsInPlace(t *testing.T) {
	var v struct {
		A analyzer.Words `yaml:"a"`
		B analyzer.Words `yaml:"b"`
	}
	if err := yaml.Unmarshal([]byte("a: &x [一旦, 万一]\nb: [*x, 隐患, [危险]]\n"), &v); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(v.B, " "); got != "一旦 万一 隐患 危险" {
		t.Errorf("b = %q", got)
	}
	if err := yaml.Unmarshal([]byte("a: [一旦, {k: v}]\n"), &v); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a map among the words: %v", err)
	}
}

// A rule's unless_in is the sentence or the clause; anything else is an
// error naming the rule and its line.
func TestUnlessInChecked(t *testing.T) {
	rule := func(in string) fstest.MapFS {
		return fstest.MapFS{"rules/severity.yaml": {Data: []byte("redline:\n  - id: r\n    name: r\n    severity: P1\n    rule: 打12345\n    unless: [打过]\n    unless_in: " + in + "\n    else: P2\n")}}
	}
	for _, in := range []string{"clause", "sentence"} {
		if _, err := analyzer.LoadSignalRules(rule(in)); err != nil {
			t.Errorf("unless_in %s: %v", in, err)
		}
	}
	_, err := analyzer.LoadSignalRules(rule("paragraph"))
	if err == nil || !strings.Contains(err.Error(), "rule r") || !strings.Contains(err.Error(), "severity.yaml:5:") || !strings.Contains(err.Error(), "unless_in") {
		t.Errorf("unless_in paragraph: %v", err)
	}
}

// The taxonomy's entrapment node reads 电梯卡 as the red-line rule does: a
// lift card asked for or kept somewhere is no lift stuck.
func TestLiftCardIsNoEntrapment(t *testing.T) {
	a := analyzertest.New(t, "property")
	for _, tt := range []struct {
		text    string
		trapped bool
	}{
		{"电梯卡在哪里办理", false},
		{"我的电梯卡在物业那里充值不了", false},
		{"新的电梯卡在哪领", false},
		{"电梯卡在8楼，我妈在里面出不来", true},
		{"电梯卡住了，打物业电话半小时没人来", true},
	} {
		res := analyze(t, a, &analyzer.Record{ID: "x", Text: tt.text})
		got := slices.ContainsFunc(res.Tags, func(g analyzer.Tag) bool { return g.ID == "facilities.elevator.entrapment" })
		if got != tt.trapped {
			t.Errorf("%s: entrapment tagged %v, want %v (tags %+v)", tt.text, got, tt.trapped, res.Tags)
		}
	}
}
