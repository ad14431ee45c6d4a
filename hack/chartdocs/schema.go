package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// schemaNode is the part of a JSON schema needed to follow a values path.
type schemaNode struct {
	Ref        string                 `json:"$ref"`
	Properties map[string]*schemaNode `json:"properties"`
}

// checkSchema reports every documented parameter that values.schema.json does not declare. The
// schema rejects unknown keys, so a value added to values.yaml but not to the schema would make
// the chart's own defaults fail to install; this catches it before helm does, naming the key.
func checkSchema(schemaJSON []byte, params []Parameter) error {
	var root struct {
		schemaNode
		Definitions map[string]*schemaNode `json:"definitions"`
	}
	if err := json.Unmarshal(schemaJSON, &root); err != nil {
		return fmt.Errorf("values.schema.json is not valid JSON: %w", err)
	}
	resolve := func(n *schemaNode) *schemaNode {
		for n != nil && n.Ref != "" {
			n = root.Definitions[strings.TrimPrefix(n.Ref, "#/definitions/")]
		}
		return n
	}
	var missing []string
	for _, p := range params {
		n := &root.schemaNode
		for _, part := range strings.Split(p.Key, ".") {
			n = resolve(n)
			if n == nil || n.Properties[part] == nil {
				n = nil
				break
			}
			n = n.Properties[part]
		}
		if n == nil {
			missing = append(missing, p.Key)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("values.schema.json does not declare these values.yaml keys (add them under \"properties\"): %s",
			strings.Join(missing, ", "))
	}
	return nil
}
