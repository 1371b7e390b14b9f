package sdkaudit

import (
	"slices"
	"testing"
)

// A serializers.go in miniature: two operations, one with a header, a
// query parameter and a nested document, and a method between functions.
const sample = `
func (m *awsRestxml_serializeOpPutThing) HandleSerialize(ctx context.Context) {
	if err := awsRestxml_serializeOpHttpBindingsPutThingInput(input, restEncoder); err != nil {
	}
	if err := awsRestxml_serializeOpDocumentPutThingInput(input, xmlEncoder.Value); err != nil {
	}
}
func awsRestxml_serializeOpHttpBindingsPutThingInput(v *PutThingInput, encoder *httpbinding.Encoder) error {
	if v.Token != nil {
		locationName := "X-Amz-Token"
		encoder.SetHeader(locationName).String(*v.Token)
	}
	if v.Mode != nil {
		encoder.SetQuery("mode").String(*v.Mode)
	}
	return nil
}

func awsRestxml_serializeOpDocumentPutThingInput(v *PutThingInput, value smithyxml.Value) error {
	root := smithyxml.StartElement{Name: smithyxml.Name{Local: "Thing"}}
	el := value.MemberElement(smithyxml.StartElement{Name: smithyxml.Name{Local: "Part"}})
	if err := awsRestxml_serializeDocumentPart(v.Part, el); err != nil {
	}
	return nil
}

func (m *awsRestxml_serializeOpGetThing) HandleSerialize(ctx context.Context) {
	if err := awsRestxml_serializeOpHttpBindingsGetThingInput(input, restEncoder); err != nil {
	}
}
func awsRestxml_serializeOpHttpBindingsGetThingInput(v *GetThingInput, encoder *httpbinding.Encoder) error {
	return nil
}

func awsRestxml_serializeDocumentPart(v *types.Part, value smithyxml.Value) error {
	el := value.MemberElement(smithyxml.StartElement{Name: smithyxml.Name{Local: "Size"}})
	return nil
}
`

func TestOperations(t *testing.T) {
	ops, err := Operations(sample, 2)
	if err != nil {
		t.Fatal(err)
	}
	put, get := ops["PutThing"], ops["GetThing"]
	if !slices.Equal(put.Inputs, []string{"x-amz-token", "mode"}) {
		t.Errorf("PutThing inputs %q", put.Inputs)
	}
	slices.Sort(put.Elements)
	if !slices.Equal(put.Elements, []string{"Part", "Size", "Thing"}) {
		t.Errorf("PutThing elements %q", put.Elements)
	}
	if len(get.Inputs) != 0 || len(get.Elements) != 0 {
		t.Errorf("GetThing %+v: the method after PutThing's document leaked into it", get)
	}
	if _, err := Operations(sample, 3); err == nil {
		t.Error("fewer operations than the minimum passed")
	}
}

func TestXMLTags(t *testing.T) {
	tags := XMLTags([]string{"type a struct {\n\tB []string `xml:\"Outer>Inner\"`\n\tC string `xml:\"C,omitempty\"`\n}"})
	for _, want := range []string{"Outer", "Inner", "C"} {
		if !tags[want] {
			t.Errorf("tag %s missing from %v", want, tags)
		}
	}
}
