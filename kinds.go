package csmsg

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// kindTable is the table of typed message kinds, and the only list of them:
// for each, its Go type, the MsgType (and Event) WeChat sends it with, its
// fields beside the header, each with its wire name, in the order WeChat
// writes them, and a sample with every field set. The scanners, the
// reference decoders, build, Marshal, DedupKey, [Kinds] (and through it the
// csmsg command, the fuzz targets and the load test) all derive from it.
// Adding a kind is: its struct, one entry here, testdata (NAME.xml,
// NAME.json and their goldens in testdata/marshal/, NAME being
// [KindInfo].Name); TestKindsCovered fails until all are there.
//
// Its limits, which registerKinds checks (kindsErr, which TestKindsTable
// holds to nil, names the limit a kind breaks; such a kind is left out,
// and its pushes parse as *Unknown):
//   - at most maxKindFields (8) fields a kind, beside the header (the
//     arrays kindValues and fieldPtrs hold that many);
//   - at most maxFields (20) wire names in all, the header's seven among
//     them (a bit each in a fieldMask, a span each in fields);
//   - each wire name 1 to maxNameLen (32) bytes of an ASCII XML name;
//     names of up to 15 bytes are the scanners' fast path, longer ones are
//     looked up whole;
//   - a kind's fields are its own or the header's Event and MsgId, each
//     once;
//   - a MsgType; an Event exactly when MsgType is "event"; one entry for
//     each MsgType and Event, and for each Go type; at most 255 kinds;
//   - a sample of the kind's type with every field set, Event the kind's;
//     make and the field pointers in the same order as the names.
var kindTable = []kind{
	kindOf(MsgTypeText, "",
		[]string{"Content", "MsgId"},
		func(m *Text) fieldPtrs { return fieldPtrs{&m.Content, &m.MsgID} },
		func(h Header, v kindValues) Message { return &Text{Header: h, Content: v[0], MsgID: v[1]} },
		&Text{Content: "你好，请问我的订单什么时候发货？", MsgID: "6054768590064713728"}),
	kindOf(MsgTypeImage, "",
		[]string{"PicUrl", "MediaId", "MsgId"},
		func(m *Image) fieldPtrs { return fieldPtrs{&m.PicURL, &m.MediaID, &m.MsgID} },
		func(h Header, v kindValues) Message {
			return &Image{Header: h, PicURL: v[0], MediaID: v[1], MsgID: v[2]}
		},
		&Image{PicURL: "http://mmbiz.qpic.cn/mmbiz_jpg/csmsg-sample/0", MediaID: "MEDIA_ID_csmsg_sample", MsgID: "6054768590064713729"}),
	kindOf(MsgTypeMiniProgramPage, "",
		[]string{"MsgId", "Title", "AppId", "PagePath", "ThumbUrl", "ThumbMediaId"},
		func(m *MiniProgramPage) fieldPtrs {
			return fieldPtrs{&m.MsgID, &m.Title, &m.AppID, &m.PagePath, &m.ThumbURL, &m.ThumbMediaID}
		},
		func(h Header, v kindValues) Message {
			return &MiniProgramPage{Header: h, MsgID: v[0], Title: v[1], AppID: v[2], PagePath: v[3], ThumbURL: v[4], ThumbMediaID: v[5]}
		},
		&MiniProgramPage{MsgID: "6054768590064713730", Title: "csmsg sample card", AppID: "wx0123456789abcdef",
			PagePath: "pages/index/index?from=csmsg", ThumbURL: "http://mmbiz.qpic.cn/mmbiz_jpg/csmsg-sample-thumb/0",
			ThumbMediaID: "THUMB_MEDIA_ID_csmsg_sample"}),
	kindOf(MsgTypeEvent, EventUserEnterTempSession,
		[]string{"Event", "SessionFrom"},
		func(m *UserEnterTempSession) fieldPtrs { return fieldPtrs{&m.Event, &m.SessionFrom} },
		func(h Header, v kindValues) Message {
			return &UserEnterTempSession{Header: h, Event: v[0], SessionFrom: v[1]}
		},
		&UserEnterTempSession{Event: EventUserEnterTempSession, SessionFrom: "csmsg"}),
}

// The kinds table as registered: the kinds that keep to its limits,
// kindFrom for kindFor, each known field's wire name and their index
// (fieldIndex), the names the scanners predict (keyOrder), and the limits
// any entry broke (kindsErr).
var kinds, kindFrom, fieldIndex, keyOrder, kindsErr = registerKinds(kindTable)

// fieldNames holds each known field's wire name, the XML element and the
// JSON key, spelled as WeChat spells them: the header's, then the kinds
// table's, fieldIndex.n of them.
var fieldNames = &fieldIndex.names

// kind is one entry of the kinds table. Its fields past sample are
// derived by registerKinds.
type kind struct {
	goType  string   // the Go type's name: "Text"
	msgType string   // MsgType
	event   string   // Event, for a kind of MsgType "event"; "" otherwise
	names   []string // the wire names of the kind's own fields, in wire order
	// make returns a new message of this kind with header h and, in the
	// order of names, the values v.
	make func(h Header, v kindValues) Message
	// bind returns m's header and fields when m is of this kind (ok), with
	// h nil for a nil pointer.
	bind   func(m Message) (h *Header, fs fieldPtrs, ok bool)
	sample Message // the kind's values of every field, without a header

	byEvent bool      // MsgType is "event": Event tells the kind
	fields  []field   // the fields of names
	mask    fieldMask // the same, as a set
	msgID   int       // the index of MsgId in fields, or -1
}

// maxKindFields bounds the fields of one kind beside the header.
const maxKindFields = 8

// kindValues are the values of a kind's fields beside the header, in the
// order of its wire names; fieldPtrs are the Go fields that hold them, in
// the same order.
type (
	kindValues [maxKindFields]string
	fieldPtrs  [maxKindFields]*string
)

// kindOf makes the kinds entry of the Go type T, which embeds Header and
// whose fields beside the header, named names on the wire, fieldsOf lists
// and make fills; sample is a T with every one of them set.
func kindOf[T any, P interface {
	*T
	Message
}](msgType, event string, names []string, fieldsOf func(P) fieldPtrs, make func(Header, kindValues) Message, sample P) kind {
	return kind{
		goType:  strings.TrimPrefix(fmt.Sprintf("%T", P(nil)), "*csmsg."),
		msgType: msgType,
		event:   event,
		names:   names,
		make:    make,
		bind: func(m Message) (*Header, fieldPtrs, bool) {
			p, ok := m.(P)
			if !ok || p == nil {
				return nil, fieldPtrs{}, ok
			}
			return p.MsgHeader(), fieldsOf(p), true
		},
		sample: sample,
	}
}

// registerKinds checks the entries of a kinds table against its limits
// (see kindTable) and returns those that keep to them, with the fields of
// their wire names numbered, the index of those names, kindFor's starting
// points and the scanners' predictions; err names each limit an entry
// broke, and that entry is left out.
func registerKinds(table []kind) (ks []kind, from [256]uint8, idx fieldTable, order nameOrder, err error) {
	var errs []error
	var names []string // the wire names beyond the header's, in order
	known := map[string]bool{}
	for _, name := range headerNames {
		known[name] = true
	}
	for _, k := range table {
		added, kerr := checkKind(&k, ks, known)
		if kerr == nil && len(names)+len(added)+int(numHeaderFields) > maxFields {
			kerr = errTooManyNames
		}
		if kerr == nil && len(ks) == maxKinds {
			kerr = errTooManyKinds
		}
		if kerr != nil {
			errs = append(errs, fmt.Errorf("csmsg: kinds table: %s (MsgType %q, Event %q): %w", k.goType, k.msgType, k.event, kerr))
			continue
		}
		for _, name := range added {
			known[name] = true
		}
		names = append(names, added...)
		ks = append(ks, k)
	}
	idx, ierr := newFieldTable(names)
	if ierr != nil {
		// Not a fault of one kind: none is left.
		errs = append(errs, fmt.Errorf("csmsg: kinds table: %w", ierr))
		ks = nil
		idx, _ = newFieldTable(nil) // the header's names, which TestKindsTable holds to fit
	}
	orders := make([]kindOrder, len(ks))
	for i := range ks {
		k := &ks[i]
		k.byEvent = k.msgType == MsgTypeEvent
		k.fields, k.mask, k.msgID = nil, 0, -1
		for j, name := range k.names {
			f, _ := lookupField(&idx, name)
			k.fields = append(k.fields, f)
			k.mask = k.mask.with(f, true)
			if f == fMsgID {
				k.msgID = j
			}
		}
		orders[i] = kindOrder{first: k.msgType[0], fields: k.fields}
	}
	for c := range from {
		from[c] = uint8(len(ks))
	}
	for i := len(ks) - 1; i >= 0; i-- {
		from[ks[i].msgType[0]] = uint8(i)
	}
	return ks, from, idx, newKeyOrder(&idx, orders), errors.Join(errs...)
}

// maxKinds bounds the kinds: kindFrom holds an index in a byte, and
// len(kinds) for none.
const maxKinds = 255

// Errors of a kinds table entry that breaks one of the table's limits.
var (
	errTooManyKinds  = fmt.Errorf("more than maxKinds (%d) kinds", maxKinds)
	errKindFields    = fmt.Errorf("more than maxKindFields (%d) fields beside the header", maxKindFields)
	errNoMsgType     = errors.New("no MsgType")
	errEvent         = errors.New("an Event exactly when MsgType is \"event\"")
	errSameKind      = errors.New("a MsgType and Event of another entry")
	errSameType      = errors.New("a Go type of another entry")
	errHeaderField   = errors.New("a header field other than Event and MsgId among the kind's fields")
	errRepeatedField = errors.New("a field named twice")
	errSample        = errors.New("the sample is not of the kind's type with every field set and Event the kind's")
	errFieldOrder    = errors.New("make and the field pointers do not take the fields in the order of the names")
)

// checkKind checks entry k against the limits of one kind, given the kinds
// accepted before it and the names known so far, and returns its names
// that are new.
func checkKind(k *kind, accepted []kind, known map[string]bool) (added []string, err error) {
	switch {
	case len(k.names) > maxKindFields:
		return nil, errKindFields
	case k.msgType == "":
		return nil, errNoMsgType
	case (k.msgType == MsgTypeEvent) != (k.event != ""):
		return nil, errEvent
	}
	for _, other := range accepted {
		if other.msgType == k.msgType && other.event == k.event {
			return nil, errSameKind
		}
		if other.goType == k.goType {
			return nil, errSameType
		}
	}
	seen := map[string]bool{}
	for _, name := range k.names {
		if err := checkName(name); err != nil {
			return nil, err
		}
		switch {
		case seen[name]:
			return nil, fmt.Errorf("%q: %w", name, errRepeatedField)
		case name != headerNames[fEvent] && name != headerNames[fMsgID] && isHeaderName(name):
			return nil, fmt.Errorf("%q: %w", name, errHeaderField)
		case !known[name]:
			added = append(added, name)
		}
		seen[name] = true
	}
	// The sample: of the kind's type, every field set.
	h, ptrs, ok := k.bind(k.sample)
	if !ok || h == nil || *h != (Header{}) {
		return nil, errSample
	}
	for i, name := range k.names {
		if *ptrs[i] == "" || name == headerNames[fEvent] && *ptrs[i] != k.event {
			return nil, fmt.Errorf("%q: %w", name, errSample)
		}
	}
	// make and bind agree on the order of the fields.
	var v kindValues
	for i := range k.names {
		v[i] = "value " + strconv.Itoa(i)
	}
	if h, ptrs, ok = k.bind(k.make(Header{MsgType: k.msgType}, v)); !ok || h == nil || h.MsgType != k.msgType {
		return nil, errFieldOrder
	}
	for i := range ptrs {
		if ptrs[i] != nil && (i >= len(k.names) || *ptrs[i] != v[i]) || ptrs[i] == nil && i < len(k.names) {
			return nil, errFieldOrder
		}
	}
	return added, nil
}

// isHeaderName reports whether name is the wire name of a header field.
func isHeaderName(name string) bool {
	for _, h := range headerNames {
		if h == name {
			return true
		}
	}
	return false
}

// kindFor returns the kind of a push with this MsgType and Event, or nil
// for a kind without a type.
func kindFor[T string | []byte](msgType, event T) *kind {
	if len(msgType) == 0 {
		return nil
	}
	for i := int(kindFrom[msgType[0]]); i < len(kinds); i++ {
		k := &kinds[i]
		if sameString(k.msgType, msgType) && (!k.byEvent || sameString(k.event, event)) {
			return k
		}
	}
	return nil
}

// sameString is a == b, with the length and the first byte compared
// first: most strings kindFor compares differ there, and the full compare
// is a call.
func sameString[T string | []byte](a string, b T) bool {
	return len(a) == len(b) && (len(a) == 0 || a[0] == b[0]) && a == string(b)
}

// kindOfMessage returns the kind of m's type and m's header and fields, or
// a nil kind for a type not in the table. h is nil for a nil pointer.
func kindOfMessage(m Message) (k *kind, h *Header, fs fieldPtrs) {
	for i := range kinds {
		if h, fs, ok := kinds[i].bind(m); ok {
			return &kinds[i], h, fs
		}
	}
	return nil, nil, fieldPtrs{}
}

// headerOf returns msg's header, or nil for a nil message, typed or not,
// and for a type of another package.
func headerOf(msg Message) *Header {
	if u, ok := msg.(*Unknown); ok {
		if u == nil {
			return nil
		}
		return &u.Header
	}
	_, h, _ := kindOfMessage(msg)
	return h
}

// msgIDOf returns the MsgID among fs, the fields of a message of kind k,
// or "" for a kind without one.
func (k *kind) msgIDOf(fs fieldPtrs) string {
	if k.msgID < 0 {
		return ""
	}
	return *fs[k.msgID]
}

// KindInfo describes one typed kind of push: what [Kinds] lists.
type KindInfo struct {
	// Name names the kind: its Event for an event
	// ("user_enter_tempsession"), its MsgType otherwise ("text"). It is the
	// KIND of "csmsg send".
	Name string
	// MsgType is the MsgType WeChat sends the kind with.
	MsgType string
	// Event is the Event of an event kind (MsgType "event"), "" otherwise.
	Event string
	// GoType is the name of the message's type in this package: "Text"
	// for *Text.
	GoType string
	// Fields are the wire names (XML elements, JSON keys) of the kind's
	// fields beside the header, in the order WeChat writes them.
	Fields []string
	// Sample is a message of the kind with every field set, the header
	// included: a new one each call of Kinds.
	Sample Message

	k *kind
}

// sampleHeader is the header of every kind's sample.
var sampleHeader = Header{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", CreateTime: 1714037059}

// Kinds returns the typed kinds of push this package decodes, one for each
// Go type [Parse] returns beside *[Unknown], in a fixed order. The slice
// and its values are the caller's: changing them changes nothing else.
func Kinds() []KindInfo {
	out := make([]KindInfo, len(kinds))
	for i := range kinds {
		k := &kinds[i]
		name := k.msgType
		if k.event != "" {
			name = k.event
		}
		_, ptrs, _ := k.bind(k.sample)
		var v kindValues
		for j := range k.names {
			v[j] = *ptrs[j]
		}
		h := sampleHeader
		h.MsgType = k.msgType
		out[i] = KindInfo{Name: name, MsgType: k.msgType, Event: k.event, GoType: k.goType,
			Fields: append([]string(nil), k.names...), Sample: k.make(h, v), k: k}
	}
	return out
}

// New returns a new message of the kind with header h and values, those of
// Fields in order: a value missing is "", one too many is ignored. Its
// MsgType and, for an event, its Event are the kind's, whatever h and
// values hold. It returns nil for a KindInfo not from Kinds.
func (ki KindInfo) New(h Header, values ...string) Message {
	k := ki.k
	if k == nil {
		return nil
	}
	h.MsgType = k.msgType
	var v kindValues
	for i, f := range k.fields {
		switch {
		case f == fEvent:
			v[i] = k.event
		case i < len(values):
			v[i] = values[i]
		}
	}
	return k.make(h, v)
}

// Values returns the values of m's fields beside the header, those of
// Fields in order, or nil if m is not a message of this kind (a nil
// pointer included).
func (ki KindInfo) Values(m Message) []string {
	if ki.k == nil {
		return nil
	}
	h, ptrs, ok := ki.k.bind(m)
	if !ok || h == nil {
		return nil
	}
	v := make([]string, len(ki.k.names))
	for i := range v {
		v[i] = *ptrs[i]
	}
	return v
}
