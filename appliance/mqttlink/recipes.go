package mqttlink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/linesight/linesight/appliance/trigger"
)

// recipeQueue is how many recipe commands may wait; a PLC sends one per
// changeover, so more is a fault and is refused.
const recipeQueue = 8

// RecipeCommand is the payload of linesight/<line>/recipe/set.
type RecipeCommand struct {
	V      int    `json:"v"`
	Recipe string `json:"recipe"`
}

// decodeRecipe reads a recipe command strictly: unknown keys, a missing
// name or another contract version are errors the PLC is told about.
func decodeRecipe(payload []byte) (RecipeCommand, string, string) {
	var c RecipeCommand
	if len(payload) > trigger.MaxSize {
		return c, CodeTooLarge, fmt.Sprintf("payload of %d bytes, more than %d", len(payload), trigger.MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, CodeMalformed, "not a recipe command ({\"v\":1,\"recipe\":\"<name>\"}): " + err.Error()
	}
	if _, err := dec.Token(); err != io.EOF {
		return c, CodeMalformed, "data after the recipe command's JSON object"
	}
	if c.V != 0 && c.V != ContractVersion {
		return c, CodeInvalid, fmt.Sprintf("contract version %d (accepted: %d)", c.V, ContractVersion)
	}
	if strings.TrimSpace(c.Recipe) == "" {
		return c, CodeInvalid, "no recipe named"
	}
	return c, "", ""
}

// onRecipe queues a recipe command for serveRecipes (paho's router must
// not block: preparing a recipe's classes can take seconds).
func (l *Link) onRecipe(s *session) paho.MessageHandler {
	return func(_ paho.Client, m paho.Message) {
		in := inbound{topic: m.Topic(), payload: m.Payload(), at: time.Now()}
		select {
		case s.recipes <- in:
		default:
			e := &ErrorMessage{V: ContractVersion, Line: l.o.Line, At: in.at.UTC(), Size: len(in.payload),
				Code: CodeRefused, Reason: fmt.Sprintf("%d recipe changes are already waiting; refused", recipeQueue)}
			l.log.Error("mqtt: recipe queue full; change refused")
			go s.client.Publish(l.topics.LineError(), 1, false, mustJSON(e))
		}
	}
}

// serveRecipes applies recipe commands in arrival order and answers bad
// or refused ones on the line's error topic; the new recipe shows in the
// retained status.
func (l *Link) serveRecipes(ctx context.Context, s *session) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-s.recipes:
			e := l.handleRecipe(in)
			if e == nil {
				continue
			}
			l.log.Warn("mqtt: recipe change rejected", "code", e.Code, "reason", e.Reason)
			if err := wait(ctx, s.client.Publish(l.topics.LineError(), 1, false, mustJSON(e)), s.lost); err != nil && ctx.Err() == nil {
				l.log.Warn("mqtt: publish recipe error", "err", err)
			}
		}
	}
}

func (l *Link) handleRecipe(in inbound) *ErrorMessage {
	c, code, reason := decodeRecipe(in.payload)
	if code == "" {
		if err := l.app.SetRecipe(c.Recipe, "mqtt"); err != nil {
			code, reason = CodeRefused, err.Error()
		}
	}
	if code == "" {
		return nil
	}
	return &ErrorMessage{V: ContractVersion, Line: l.o.Line, At: in.at.UTC(), Size: len(in.payload), Code: code, Reason: reason}
}
