package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// document is one object of a multi-document YAML file, as JSON, with its type.
type document struct {
	apiVersion, kind, name string
	json                   []byte
}

func (d document) String() string { return fmt.Sprintf("%s %s/%s", d.apiVersion, d.kind, d.name) }

func readDocuments(path string) ([]document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs []document
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		// Strict: a key given twice in one mapping is an error, as it is for the API server.
		js, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if string(js) == "null" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(js, &head); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		docs = append(docs, document{head.APIVersion, head.Kind, head.Metadata.Name, js})
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no objects", path)
	}
	return docs, nil
}

// decodeStrict unmarshals like the API server with fieldValidation=Strict: case-sensitive field
// names, and an error for any field the type does not have.
func decodeStrict(doc document, into any) error {
	strictErrs, err := sigsjson.UnmarshalStrict(doc.json, into)
	if err != nil {
		return fmt.Errorf("%v: %w", doc, err)
	}
	if len(strictErrs) > 0 {
		return fmt.Errorf("%v: %w", doc, errors.Join(strictErrs...))
	}
	return nil
}
