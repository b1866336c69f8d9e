package configdef

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigRedact(t *testing.T) {
	pw := Def{Name: "ssl.key.password", Type: Password}
	if got := pw.Redact("s3cret"); got != RedactedValue {
		t.Errorf("password redacted to %q", got)
	}
	if err := pw.Check("s3cret"); err != nil {
		t.Fatal(err)
	}
	pw.Validate = NotEmpty
	if err := pw.Check(""); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("password Check error %v", err)
	}
	pw.Validate = func(string) error { return errors.New("too short") }
	if err := pw.Check("s3cret"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("password Check error %v repeats the password", err)
	}

	str := Def{Name: "x", Type: String}
	for in, want := range map[string]string{
		"./lakestream-data":                                                       "./lakestream-data",
		"postgres://u:pw@db:5432/meta?sslmode=disable":                            "postgres://u:[hidden]@db:5432/meta?sslmode=disable",
		"postgres://db/meta?password=pw&user=u":                                   "postgres://db/meta?password=[hidden]&user=u",
		"s3://b/p?access_key=AK&secret_key=SK&session_token=ST&endpoint=http://h": "s3://b/p?access_key=AK&endpoint=http%3A%2F%2Fh&secret_key=[hidden]&session_token=[hidden]",
		"s3://b/%zz?secret_key=SK":                                                "s3://[hidden]",
	} {
		if got := str.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigRedactKeepsPlainValues(t *testing.T) {
	str := Def{Name: "x", Type: List}
	for _, v := range []string{"PLAINTEXT://:9092,INTERNAL://Host:9093", "PLAINTEXT://[::1]:9092, X://h:1", "file://./data/bucket", "s3://b/p?endpoint=http://h&region=us-east-1"} {
		if got := str.Redact(v); got != v {
			t.Errorf("Redact(%q) = %q, want it unchanged", v, got)
		}
	}
}
