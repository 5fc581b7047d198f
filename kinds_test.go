package csmsg

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fieldIndexOf returns the field of a wire name.
func fieldIndexOf(t *testing.T, name string) field {
	f, ok := lookupField(&fieldIndex, name)
	require.True(t, ok, name)
	return f
}

// TestKindsTable walks the kinds table: every kind's filled value marshals
// in both formats and parses back equal, through every entry point, and
// every wire name is found by the lookup.
func TestKindsTable(t *testing.T) {
	require.NoError(t, kindsErr, "every entry of the kinds table keeps to its limits")
	require.Len(t, kinds, len(kindTable))
	_, err := newFieldTable(nil)
	require.NoError(t, err, "the header's names alone fit the index")
	for f := field(0); int(f) < fieldIndex.n; f++ {
		got, ok := lookupField(&fieldIndex, fieldNames[f])
		assert.True(t, ok, fieldNames[f])
		assert.Equal(t, f, got, fieldNames[f])
		got, ok = lookupField(&fieldIndex, []byte(fieldNames[f]))
		assert.True(t, ok, fieldNames[f])
		assert.Equal(t, f, got, fieldNames[f])
		_, ok = lookupField(&fieldIndex, strings.ToLower(fieldNames[f]))
		assert.False(t, ok, "names match case-sensitively")
	}
	_, ok := lookupField(&fieldIndex, "")
	assert.False(t, ok)
	assert.Nil(t, kindFor("", ""), "no MsgType is no kind")

	goTypes := map[string]bool{}
	for i := range kinds {
		k := &kinds[i]
		assert.False(t, goTypes[k.goType], "one entry per Go type")
		goTypes[k.goType] = true
		assert.Same(t, k, kindFor(k.msgType, k.event), "kindFor finds %s", k.goType)
		assert.Same(t, k, kindFor([]byte(k.msgType), []byte(k.event)), "kindFor finds %s in bytes", k.goType)
		if k.byEvent {
			assert.Nil(t, kindFor(k.msgType, k.event+"x"), "another event is not %s", k.goType)
			assert.Nil(t, kindFor(k.msgType, ""), "no event is not %s", k.goType)
		} else {
			assert.Same(t, k, kindFor(k.msgType, "user_enter_tempsession"), "%s takes no Event", k.goType)
		}
		for _, other := range []string{k.msgType[:len(k.msgType)-1], k.msgType + "x", strings.ToUpper(k.msgType), "x" + k.msgType} {
			assert.Nil(t, kindFor(other, k.event), "MsgType %q is no kind", other)
		}

		var v kindValues
		for i, f := range k.fields {
			switch f {
			case fEvent:
				v[i] = k.event
			case fMsgID:
				v[i] = "6054768590064713728"
			default:
				v[i] = "value of " + fieldNames[f]
			}
		}
		m := k.make(Header{ToUserName: "gh_1", FromUserName: "o_1", CreateTime: 1714037059, MsgType: k.msgType}, v)
		_, _, ptrs := kindOfMessage(m)
		for i := range k.fields {
			assert.Equal(t, v[i], *ptrs[i], "make and the field pointers agree on the order of %s", k.goType)
		}
		assert.Equal(t, "*csmsg."+k.goType, fmt.Sprintf("%T", m))
		assert.Equal(t, k.msgType, headerOf(m).MsgType)
		for _, format := range []Format{FormatXML, FormatJSON} {
			body, err := Marshal(m, format)
			require.NoError(t, err, k.goType)
			for entry, parse := range entryPoints(format) {
				got, err := parse(body)
				require.NoError(t, err, entry)
				assert.Equal(t, m, got, "%s %v via %s", k.goType, format, entry)
			}
		}
	}
}

// testKind, testOther and testMore are Go types for kinds tables of the
// tests.
type (
	testKind struct {
		Header
		A, B, C, D, E, F, G, H string
	}
	testOther struct {
		Header
		A string
	}
	testMore struct {
		Header
		A, B, C, D, E string
	}
)

func (m *testKind) ptrs() fieldPtrs {
	return fieldPtrs{&m.A, &m.B, &m.C, &m.D, &m.E, &m.F, &m.G, &m.H}
}

// testEntry returns an entry of type testKind with MsgType msgType, Event
// event and wire names names, whose values it holds in A, B... in turn,
// and a sample with every one set, Event to event.
func testEntry(msgType, event string, names ...string) kind {
	sample := &testKind{}
	p := sample.ptrs()
	for i, name := range names[:min(len(names), maxKindFields)] {
		*p[i] = "v" + name
		if name == "Event" {
			*p[i] = event
		}
	}
	n := len(names) // more than maxKindFields: registration never calls these
	return kindOf(msgType, event, names,
		func(m *testKind) fieldPtrs {
			var p fieldPtrs
			all := m.ptrs()
			copy(p[:n], all[:n])
			return p
		},
		func(h Header, v kindValues) Message {
			m := &testKind{Header: h}
			p := m.ptrs()
			for i := range n {
				*p[i] = v[i]
			}
			return m
		},
		sample)
}

// otherEntry returns an entry of type testOther, of one field named name.
func otherEntry(msgType, name string) kind {
	return kindOf(msgType, "", []string{name},
		func(m *testOther) fieldPtrs { return fieldPtrs{&m.A} },
		func(h Header, v kindValues) Message { return &testOther{Header: h, A: v[0]} },
		&testOther{A: "a"})
}

// TestKindsTableLimits registers tables whose entries break each limit of
// the kinds table: registration never panics, leaves such an entry out,
// keeps the others, and its error names the limit.
func TestKindsTableLimits(t *testing.T) {
	good := otherEntry("good", "Good")
	long := strings.Repeat("N", maxNameLen)
	var many []string
	for i := 0; i < 13; i++ {
		many = append(many, fmt.Sprintf("Name%d", i))
	}
	cases := []struct {
		name  string
		entry kind
		err   string // "" for an entry that keeps to the limits
	}{
		{"a name of maxNameLen bytes", testEntry("t", "", "A", long), ""},
		{"WeChat's longest event field", testEntry("t", "", "SubscribeStatusString", "MsgId"), ""},
		{"a name too long", testEntry("t", "", "A", long+"N"),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): "` + long + `N": a wire name is 1 to maxNameLen (32) bytes`},
		{"an empty name", testEntry("t", "", ""),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): "": a wire name is 1 to maxNameLen (32) bytes`},
		{"a name starting with a digit", testEntry("t", "", "1A"),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): "1A": a wire name is an ASCII XML name: a letter or '_', then letters, digits, '_', '-' or '.'`},
		{"a name with a space", testEntry("t", "", "A B"),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): "A B": a wire name is an ASCII XML name: a letter or '_', then letters, digits, '_', '-' or '.'`},
		{"a name with a namespace", testEntry("t", "", "a:B"),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): "a:B": a wire name is an ASCII XML name: a letter or '_', then letters, digits, '_', '-' or '.'`},
		{"too many fields", testEntry("t", "", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9"),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): more than maxKindFields (8) fields beside the header`},
		{"maxKindFields fields", testEntry("t", "", many[:8]...), ""},
		{"no MsgType", testEntry("", "", "A"),
			`csmsg: kinds table: testKind (MsgType "", Event ""): no MsgType`},
		{"an event without Event", testEntry("event", "", "A"),
			`csmsg: kinds table: testKind (MsgType "event", Event ""): an Event exactly when MsgType is "event"`},
		{"an Event without MsgType event", testEntry("t", "e", "A"),
			`csmsg: kinds table: testKind (MsgType "t", Event "e"): an Event exactly when MsgType is "event"`},
		{"the MsgType of another entry", kindOf("good", "", []string{"A"},
			func(m *testKind) fieldPtrs { return fieldPtrs{&m.A} },
			func(h Header, v kindValues) Message { return &testKind{Header: h, A: v[0]} },
			&testKind{A: "a"}),
			`csmsg: kinds table: testKind (MsgType "good", Event ""): a MsgType and Event of another entry`},
		{"the Go type of another entry", otherEntry("t", "A"),
			`csmsg: kinds table: testOther (MsgType "t", Event ""): a Go type of another entry`},
		{"a header field", testEntry("t", "", "A", "CreateTime"),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): "CreateTime": a header field other than Event and MsgId among the kind's fields`},
		{"a field named twice", testEntry("t", "", "A", "A"),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): "A": a field named twice`},
		{"a sample without a value", kindOf("t", "", []string{"A", "B"},
			func(m *testKind) fieldPtrs { return fieldPtrs{&m.A, &m.B} },
			func(h Header, v kindValues) Message { return &testKind{Header: h, A: v[0], B: v[1]} },
			&testKind{A: "a"}),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): "B": the sample is not of the kind's type with every field set and Event the kind's`},
		{"a sample of another Event", kindOf("event", "e", []string{"Event"},
			func(m *testKind) fieldPtrs { return fieldPtrs{&m.A} },
			func(h Header, v kindValues) Message { return &testKind{Header: h, A: v[0]} },
			&testKind{A: "x"}),
			`csmsg: kinds table: testKind (MsgType "event", Event "e"): "Event": the sample is not of the kind's type with every field set and Event the kind's`},
		{"a nil sample", kindOf("t", "", []string{"A"},
			func(m *testKind) fieldPtrs { return fieldPtrs{&m.A} },
			func(h Header, v kindValues) Message { return &testKind{Header: h, A: v[0]} },
			nil),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): the sample is not of the kind's type with every field set and Event the kind's`},
		{"make in another order", kindOf("t", "", []string{"A", "B"},
			func(m *testKind) fieldPtrs { return fieldPtrs{&m.A, &m.B} },
			func(h Header, v kindValues) Message { return &testKind{Header: h, A: v[1], B: v[0]} },
			&testKind{A: "a", B: "b"}),
			`csmsg: kinds table: testKind (MsgType "t", Event ""): make and the field pointers do not take the fields in the order of the names`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ks []kind
			var idx fieldTable
			var err error
			require.NotPanics(t, func() { ks, _, idx, _, err = registerKinds([]kind{good, tc.entry}) })
			goTypes := []string{"testOther"}
			if tc.err == "" {
				require.NoError(t, err)
				goTypes = append(goTypes, "testKind")
			} else {
				require.EqualError(t, err, tc.err)
			}
			var got []string
			for _, k := range ks {
				got = append(got, k.goType)
				for i, name := range k.names {
					f, ok := lookupField(&idx, name)
					assert.True(t, ok, name)
					assert.Equal(t, k.fields[i], f, name)
					assert.Equal(t, name, idx.names[f])
				}
			}
			assert.Equal(t, goTypes, got, "the kinds registered")
		})
	}

	t.Run("more than maxFields names in all", func(t *testing.T) {
		more := kindOf("u", "", many[8:],
			func(m *testMore) fieldPtrs { return fieldPtrs{&m.A, &m.B, &m.C, &m.D, &m.E} },
			func(h Header, v kindValues) Message {
				return &testMore{Header: h, A: v[0], B: v[1], C: v[2], D: v[3], E: v[4]}
			},
			&testMore{A: "a", B: "b", C: "c", D: "d", E: "e"})
		ks, _, _, _, err := registerKinds([]kind{good, testEntry("t", "", many[:8]...), more})
		require.EqualError(t, err, `csmsg: kinds table: testMore (MsgType "u", Event ""): more than maxFields (20) wire names in all, the header's 7 among them`)
		assert.Len(t, ks, 2)
		ks, _, _, _, err = registerKinds([]kind{good, testEntry("t", "", many[:7]...), more})
		require.NoError(t, err, "maxFields names in all")
		assert.Len(t, ks, 3)
	})

	t.Run("names no hash tells apart", func(t *testing.T) {
		// Two names whose words have the same XOR: every multiplier puts
		// them in one slot. No kind is left, and the index holds the
		// header's names.
		ks, from, idx, _, err := registerKinds([]kind{good, testEntry("t", "", "abcdefghABCDEFGH", "ABCDEFGHabcdefgh")})
		require.EqualError(t, err, "csmsg: kinds table: no collision-free hash of the wire names")
		assert.Empty(t, ks)
		assert.Equal(t, uint8(0), from['g'], "kindFor finds nothing")
		assert.Equal(t, int(numHeaderFields), idx.n)
		f, ok := lookupField(&idx, "MsgType")
		assert.True(t, ok)
		assert.Equal(t, fMsgType, f)
	})

	t.Run("names past 16 bytes that share their first 16", func(t *testing.T) {
		names := []string{"SubscribeStatusString", "SubscribeStatusStrinG", "SubscribeStatusStrin", "SubscribeStatusStringSubscribeSt"}
		ks, _, idx, order, err := registerKinds([]kind{testEntry("t", "", names...)})
		require.NoError(t, err)
		require.Len(t, ks, 1)
		for i, name := range names {
			f, ok := lookupField(&idx, name)
			assert.True(t, ok, name)
			assert.Equal(t, ks[0].fields[i], f, name)
			f, ok = lookupField(&idx, []byte(name))
			assert.True(t, ok, name)
			assert.Equal(t, ks[0].fields[i], f, name)
			assert.Equal(t, order.words[noField], order.words[f], "the scanners predict no name past 15 bytes")
		}
		for _, other := range []string{"SubscribeStatusStrinh", "SubscribeStatusStringSubscribeSu", "SubscribeStatusStringSubscribeStr"} {
			_, ok := lookupField(&idx, other)
			assert.False(t, ok, other)
		}
	})
}

// TestKinds holds the read-only view of the kinds table to the table: each
// kind's names, its sample, and New and Values, which undo each other.
func TestKinds(t *testing.T) {
	h := Header{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", CreateTime: 1714037059}
	type info struct {
		Name, MsgType, Event, GoType string
		Fields                       []string
		Sample                       Message
	}
	var got []info
	for _, k := range Kinds() {
		got = append(got, info{k.Name, k.MsgType, k.Event, k.GoType, k.Fields, k.Sample})
	}
	with := func(msgType string) Header { c := h; c.MsgType = msgType; return c }
	assert.Equal(t, []info{
		{"text", "text", "", "Text", []string{"Content", "MsgId"},
			&Text{Header: with("text"), Content: "你好，请问我的订单什么时候发货？", MsgID: "6054768590064713728"}},
		{"image", "image", "", "Image", []string{"PicUrl", "MediaId", "MsgId"},
			&Image{Header: with("image"), PicURL: "http://mmbiz.qpic.cn/mmbiz_jpg/csmsg-sample/0", MediaID: "MEDIA_ID_csmsg_sample", MsgID: "6054768590064713729"}},
		{"miniprogrampage", "miniprogrampage", "", "MiniProgramPage", []string{"MsgId", "Title", "AppId", "PagePath", "ThumbUrl", "ThumbMediaId"},
			&MiniProgramPage{Header: with("miniprogrampage"), MsgID: "6054768590064713730", Title: "csmsg sample card", AppID: "wx0123456789abcdef",
				PagePath: "pages/index/index?from=csmsg", ThumbURL: "http://mmbiz.qpic.cn/mmbiz_jpg/csmsg-sample-thumb/0", ThumbMediaID: "THUMB_MEDIA_ID_csmsg_sample"}},
		{"user_enter_tempsession", "event", "user_enter_tempsession", "UserEnterTempSession", []string{"Event", "SessionFrom"},
			&UserEnterTempSession{Header: with("event"), Event: "user_enter_tempsession", SessionFrom: "csmsg"}},
	}, got)

	for _, k := range Kinds() {
		values := k.Values(k.Sample)
		require.Len(t, values, len(k.Fields), k.Name)
		for i, v := range values {
			assert.NotEmpty(t, v, "%s: the sample sets %s", k.Name, k.Fields[i])
		}
		assert.Equal(t, k.Sample, k.New(*k.Sample.MsgHeader(), values...), "New undoes Values: %s", k.Name)
		m := k.New(Header{MsgType: "other"}, "x", "y", "z", "w", "v", "u", "t", "s", "r")
		assert.Equal(t, k.MsgType, m.MsgHeader().MsgType, "New sets the kind's MsgType")
		for i, v := range k.Values(m) {
			want := "xyzwvuts"[i : i+1]
			if k.Fields[i] == "Event" {
				want = k.Event
			}
			assert.Equal(t, want, v, "%s: %s", k.Name, k.Fields[i])
		}
		empty := make([]string, len(k.Fields))
		for i, name := range k.Fields {
			if name == "Event" {
				empty[i] = k.Event
			}
		}
		assert.Equal(t, empty, k.Values(k.New(Header{})), "missing values are empty")
		for _, other := range Kinds() {
			if other.Name != k.Name {
				assert.Nil(t, k.Values(other.Sample), "%s is not %s", other.Name, k.Name)
			}
		}
		assert.Nil(t, k.Values(nil))
		assert.Nil(t, k.Values(&Unknown{}))
	}
	var textInfo KindInfo
	for _, k := range Kinds() {
		if k.Name == "text" {
			textInfo = k
		}
	}
	assert.Nil(t, textInfo.Values((*Text)(nil)), "a nil pointer has no values")
	assert.Nil(t, KindInfo{}.New(h, "x"), "a KindInfo not from Kinds")
	assert.Nil(t, KindInfo{}.Values(&Text{}))

	// The caller's copy: changing it changes nothing else.
	ks := Kinds()
	ks[0].Fields[0] = "changed"
	ks[0].Sample.(*Text).Content = "changed"
	ks[0].Name = "changed"
	again := Kinds()
	assert.Equal(t, "Content", again[0].Fields[0])
	assert.Equal(t, "你好，请问我的订单什么时候发货？", again[0].Sample.(*Text).Content)
	assert.Equal(t, "text", again[0].Name)
	assert.Equal(t, "Content", kinds[0].names[0])
}

// TestKindsCovered fails for a kind of the kinds table without testdata
// (NAME.xml and NAME.json, their goldens in testdata/marshal/, a golden
// case), that a fuzz target's seeds or builder leave out, or that the
// fuzz targets' checks would not take. (cmd/csmsg holds "csmsg send" to
// the table; csmsgredis/loadtest its rotation.)
func TestKindsCovered(t *testing.T) {
	seeds := map[string]map[Format]bool{}
	for _, body := range seedBodies(t) {
		if m, err := Parse(body); err == nil && isTyped(m) {
			k, _, _ := kindOfMessage(m)
			if seeds[k.goType] == nil {
				seeds[k.goType] = map[Format]bool{}
			}
			f, _ := sniff(body)
			seeds[k.goType][f] = true
		}
	}
	for i, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			for _, f := range []Format{FormatXML, FormatJSON} {
				path := filepath.Join("testdata", k.Name+"."+f.String())
				body, err := os.ReadFile(path)
				require.NoError(t, err, "testdata for the kind")
				m, err := Parse(body)
				require.NoError(t, err, path)
				assert.NotNil(t, k.Values(m), "%s parses to a %s", path, k.GoType)
				_, err = os.Stat(filepath.Join("testdata", "marshal", k.Name+"."+f.String()))
				assert.NoError(t, err, "a golden of Marshal for the kind")
				assert.True(t, seeds[k.GoType][f], "the fuzz targets' seeds hold a %v %s", f, k.Name)
			}
			golden := false
			for _, tc := range goldenCases {
				golden = golden || tc.name == k.Name && k.Values(tc.want) != nil
			}
			assert.True(t, golden, "goldenCases holds %q, a %s", k.Name, k.GoType)
			assert.NotNil(t, k.Values(fuzzMessage(uint8(i), "a", "b", 1, "c", "1", "e")), "FuzzMarshal builds a %s", k.GoType)
			assert.True(t, isTyped(k.Sample), "FuzzParse and checkResult take a %s", k.GoType)
		})
	}
}

// TestDedupKeyMsgIDText checks that a MsgId of text keys a push as a
// number does: by its exact text, whichever way it came.
func TestDedupKeyMsgIDText(t *testing.T) {
	number, err := Parse([]byte(`{"ToUserName":"gh","FromUserName":"o","MsgType":"text","MsgId":6054768590064713728}`))
	require.NoError(t, err)
	str, err := Parse([]byte(`{"ToUserName":"gh","FromUserName":"o","MsgType":"text","MsgId":"6054768590064713728"}`))
	require.NoError(t, err)
	text, err := Parse([]byte(`{"ToUserName":"gh","FromUserName":"o","MsgType":"text","MsgId":"49d72d67b16d115e7935ac386f2f0fa41535298877_1555684067"}`))
	require.NoError(t, err)
	unknown, err := Parse([]byte(`{"ToUserName":"gh","FromUserName":"o","MsgType":"voice","MsgId":"49d7|x"}`))
	require.NoError(t, err)
	assert.Equal(t, "msg|2:gh|1:o|6054768590064713728", DedupKey(number))
	assert.Equal(t, DedupKey(number), DedupKey(str))
	assert.Equal(t, "msg|2:gh|1:o|49d72d67b16d115e7935ac386f2f0fa41535298877_1555684067", DedupKey(text))
	assert.Equal(t, "msg|2:gh|1:o|49d7|x", DedupKey(unknown))
	assert.True(t, errors.Is(func() error { _, err := Marshal(text, FormatXML); return err }(), ErrInvalidMessage))
}

// TestKindsLongFieldName parses, with a kinds table that has one more
// kind, a push whose field names pass 16 bytes, WeChat's longest among
// them: the scanners look them up whole, and agree with the reference.
func TestKindsLongFieldName(t *testing.T) {
	saved := struct {
		kinds    []kind
		from     [256]uint8
		index    fieldTable
		order    nameOrder
		combined error
	}{kinds, kindFrom, fieldIndex, keyOrder, kindsErr}
	t.Cleanup(func() {
		kinds, kindFrom, fieldIndex, keyOrder, kindsErr = saved.kinds, saved.from, saved.index, saved.order, saved.combined
	})
	long := strings.Repeat("L", maxNameLen)
	table := append(kindTable[:len(kindTable):len(kindTable)],
		testEntry("event", "subscribe_msg_popup_event", "Event", "SubscribeStatusString", long, "PopupScene"))
	var err error
	kinds, kindFrom, fieldIndex, keyOrder, err = registerKinds(table)
	require.NoError(t, err)

	want := &testKind{Header: Header{ToUserName: "gh", MsgType: "event"}, A: "subscribe_msg_popup_event", B: "accept", C: "long", D: "2"}
	bodies := map[Format]string{
		FormatJSON: `{"ToUserName":"gh","MsgType":"event","Event":"subscribe_msg_popup_event","SubscribeStatusString":"accept","` + long + `":"long","PopupScene":"2"}`,
		FormatXML:  `<xml><ToUserName>gh</ToUserName><MsgType>event</MsgType><Event>subscribe_msg_popup_event</Event><SubscribeStatusString>accept</SubscribeStatusString><` + long + `>long</` + long + `><PopupScene>2</PopupScene></xml>`,
	}
	for f, body := range bodies {
		impl := map[Format]formatImpl{FormatXML: xmlImpl, FormatJSON: jsonImpl}[f]
		fs := fields{src: []byte(body)}
		require.True(t, impl.scan(fs.src, &fs), "the scanner takes %v", f)
		checkMatchesReference(t, impl, []byte(body))
		got, err := Parse([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, want, got, "%v", f)
		out, err := Marshal(want, f)
		require.NoError(t, err)
		assert.Contains(t, string(out), long, "%v", f)
		back, err := Parse(out)
		require.NoError(t, err)
		assert.Equal(t, want, back, "%v", f)
	}
}

// TestKindsHaveEveryType fails for a message type of the package, an
// exported struct that embeds Header (Unknown aside), without an entry in
// the kinds table.
func TestKindsHaveEveryType(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	require.NoError(t, err)
	var types []string
	for _, file := range pkgs["csmsg"].Files {
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.TypeSpec)
			if !ok || !spec.Name.IsExported() || spec.Name.Name == "Unknown" {
				return true
			}
			if st, ok := spec.Type.(*ast.StructType); ok {
				for _, f := range st.Fields.List {
					if id, ok := f.Type.(*ast.Ident); ok && len(f.Names) == 0 && id.Name == "Header" {
						types = append(types, spec.Name.Name)
					}
				}
			}
			return true
		})
	}
	var inTable []string
	for _, k := range Kinds() {
		inTable = append(inTable, k.GoType)
	}
	assert.ElementsMatch(t, types, inTable, "every message type has an entry in the kinds table")
}
