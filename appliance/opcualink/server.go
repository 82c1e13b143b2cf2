// Package opcualink serves the appliance to SCADA and PLCs over OPC UA
// (github.com/gopcua/opcua's server): each camera's last verdict and
// counters, the appliance's state, recipe and process alarms as
// variables, and, when allowed, methods to trigger a part and change the
// recipe (docs/plc.md#opc-ua).
package opcualink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/server/attrs"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"

	"github.com/linesight/linesight/appliance/plc"
	"github.com/linesight/linesight/appliance/trigger"
)

// Options configure the server.
type Options struct {
	// Listen is host:port; the endpoint URL clients are told is
	// opc.tcp://<Host or the listen host>:<port>.
	Listen string
	// Host is the name clients reach the box by, for the endpoint URL;
	// empty: the listen host (localhost for 0.0.0.0).
	Host string
	// Line names the namespace: urn:linesight:<line>.
	Line string
	// Methods allows the Trigger and SetRecipe methods. The server checks
	// no user (see docs/plc.md), so they are off unless allowed.
	Methods bool
	// MaxConnections caps open client connections; more are closed at
	// once. HandshakeTimeout is how long a new one has to speak.
	MaxConnections   int
	HandshakeTimeout time.Duration
	Log              *slog.Logger
}

// Server is the OPC UA server of one appliance.
type Server struct {
	o        Options
	board    *plc.Board
	line     plc.Line
	srv      *server.Server
	front    *front
	endpoint string
	ns       uint16
}

// NamespaceURI is the namespace of a line's nodes.
func NamespaceURI(line string) string { return "urn:linesight:" + line }

// New makes a server over the board and the line; Start starts it.
func New(o Options, board *plc.Board, line plc.Line) *Server {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 16
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	return &Server{o: o, board: board, line: line}
}

// Endpoint is the URL clients connect to, once started.
func (s *Server) Endpoint() string { return s.endpoint }

// Start binds the listen address (port 0 takes a free one: Endpoint says
// which), builds the address space and serves.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return fmt.Errorf("opcua: listen on %s: %w", s.o.Listen, err)
	}
	host, _, _ := net.SplitHostPort(s.o.Listen)
	port := ln.Addr().(*net.TCPAddr).Port
	name := s.o.Host
	if name == "" {
		name = host
	}
	if name == "" || name == "0.0.0.0" || name == "::" {
		name = "localhost"
	}
	s.endpoint = fmt.Sprintf("opc.tcp://%s", net.JoinHostPort(name, strconv.Itoa(port)))
	srv, backend, err := s.startLibrary(ctx, name, port)
	if err != nil {
		ln.Close()
		return err
	}
	s.srv = srv
	s.build()
	s.front = newFront(ln, backend, s.o.MaxConnections, s.o.HandshakeTimeout, s.o.Log)
	s.front.start()
	s.o.Log.Info("opcua server listening", "endpoint", s.endpoint, "namespace", NamespaceURI(s.o.Line), "methods", s.o.Methods)
	return nil
}

// startLibrary starts the library's server behind the front, on a
// loopback port of its own (tried until one is free: the library binds
// it itself), advertising the front's endpoint.
func (s *Server) startLibrary(ctx context.Context, name string, port int) (*server.Server, string, error) {
	var last error
	for range 20 {
		backend := 20000 + rand.IntN(40000)
		srv := server.New(
			server.EndPoint("127.0.0.1", backend),
			server.EndPoint(name, port),
			server.EnableSecurity("None", ua.MessageSecurityModeNone),
			server.EnableAuthMode(ua.UserTokenTypeAnonymous),
			server.ServerName("LineSight "+s.o.Line),
			server.ManufacturerName("LineSight"),
			server.ProductName("LineSight inspection appliance"),
			server.SetLogger(quiet{s.o.Log}),
		)
		// Before Start, so the library's own (unsupported) Call handler is
		// not the one registered.
		srv.RegisterHandler(id.CallRequest_Encoding_DefaultBinary, s.call)
		err := srv.Start(ctx)
		if err == nil {
			return srv, net.JoinHostPort("127.0.0.1", strconv.Itoa(backend)), nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, "", fmt.Errorf("opcua: start the server: %w", err)
		}
		last = err
	}
	return nil, "", fmt.Errorf("opcua: no free loopback port for the server: %w", last)
}

// Stop closes every connection and the listeners.
func (s *Server) Stop() {
	if s.front != nil {
		s.front.stop()
	}
	if s.srv != nil {
		s.srv.Close()
	}
}

// build adds the line's namespace: an Appliance object, one object per
// camera, and the methods.
func (s *Server) build() {
	ns := server.NewNodeNameSpace(s.srv, NamespaceURI(s.o.Line))
	s.ns = ns.ID()
	root, _ := s.srv.Namespace(0)
	objects := ns.Objects()
	root.Objects().AddRef(objects, id.HasComponent, true)

	app := s.object(ns, objects, "Appliance")
	s.variable(ns, app, "Appliance.State", func() any { return uint16(plc.StateCode(s.line.State())) })
	s.variable(ns, app, "Appliance.StateName", func() any { return s.line.State() })
	s.variable(ns, app, "Appliance.Recipe", func() any { return s.line.Recipe() })
	s.variable(ns, app, "Appliance.Recipes", func() any { return s.line.Recipes() })
	s.variable(ns, app, "Appliance.AlarmCount", func() any { return uint16(len(s.line.ProcessAlarms())) })
	s.variable(ns, app, "Appliance.Alarms", func() any {
		out := []string{}
		for _, a := range s.line.ProcessAlarms() {
			out = append(out, fmt.Sprintf("%s %s %s: %s", a.Severity, a.Kind, a.Camera, a.Message))
		}
		return out
	})
	s.variable(ns, app, "Appliance.MethodsEnabled", func() any { return s.o.Methods })
	for _, m := range []string{MethodTrigger, MethodSetRecipe} {
		n := server.NewNode(ua.NewStringNodeID(s.ns, m), map[ua.AttributeID]*ua.DataValue{
			ua.AttributeIDNodeClass:      server.DataValueFromValue(uint32(ua.NodeClassMethod)),
			ua.AttributeIDBrowseName:     server.DataValueFromValue(attrs.BrowseName(m)),
			ua.AttributeIDDisplayName:    server.DataValueFromValue(attrs.DisplayName(m, m)),
			ua.AttributeIDExecutable:     server.DataValueFromValue(s.o.Methods),
			ua.AttributeIDUserExecutable: server.DataValueFromValue(s.o.Methods),
		}, nil, nil)
		ns.AddNode(n)
		app.AddRef(n, id.HasComponent, true)
	}

	for _, cam := range s.board.Cameras() {
		o := s.object(ns, objects, cam)
		last := func() (plc.Last, plc.Counters) {
			l, c, _ := s.board.Last(cam)
			return l, c
		}
		p := cam + "."
		s.variable(ns, o, p+"Count", func() any { l, _ := last(); return l.Count })
		s.variable(ns, o, p+"OutcomeCode", func() any { l, _ := last(); return uint16(plc.OutcomeCode(l.Verdict.Outcome)) })
		s.variable(ns, o, p+"Outcome", func() any { l, _ := last(); return string(l.Verdict.Outcome) })
		s.variable(ns, o, p+"ActionCode", func() any { l, _ := last(); return uint16(plc.ActionCode(l.Verdict.Action)) })
		s.variable(ns, o, p+"Class", func() any { l, _ := last(); return l.Verdict.Class })
		s.variable(ns, o, p+"ClassIndex", func() any { l, _ := last(); return int32(l.ClassIndex) })
		s.variable(ns, o, p+"Confidence", func() any { l, _ := last(); return l.Verdict.Confidence })
		s.variable(ns, o, p+"PartID", func() any { l, _ := last(); return l.Verdict.PartID })
		s.variable(ns, o, p+"Seq", func() any { l, _ := last(); return l.Verdict.Seq })
		s.variable(ns, o, p+"Recipe", func() any { l, _ := last(); return l.Verdict.Recipe })
		s.variable(ns, o, p+"CapturedAt", func() any { l, _ := last(); return l.Verdict.CapturedAt })
		s.variable(ns, o, p+"InferredAt", func() any { l, _ := last(); return l.Verdict.InferredAt })
		s.variable(ns, o, p+"Pass", func() any { _, c := last(); return c.Pass })
		s.variable(ns, o, p+"Fail", func() any { _, c := last(); return c.Fail })
		s.variable(ns, o, p+"Uncertain", func() any { _, c := last(); return c.Uncertain })
		s.variable(ns, o, p+"Missed", func() any { _, c := last(); return c.Missed })
	}
}

// object adds an object node under parent. It is built here, not with the
// library's NewFolderNode, which panics on its own description value.
func (s *Server) object(ns *server.NodeNameSpace, parent *server.Node, name string) *server.Node {
	nid := ua.NewStringNodeID(s.ns, name)
	n := server.NewNode(nid, map[ua.AttributeID]*ua.DataValue{
		ua.AttributeIDNodeClass:     server.DataValueFromValue(uint32(ua.NodeClassObject)),
		ua.AttributeIDBrowseName:    server.DataValueFromValue(attrs.BrowseName(name)),
		ua.AttributeIDDisplayName:   server.DataValueFromValue(attrs.DisplayName(name, name)),
		ua.AttributeIDEventNotifier: server.DataValueFromValue(byte(0)),
	}, []*ua.ReferenceDescription{{
		ReferenceTypeID: ua.NewNumericNodeID(0, id.HasTypeDefinition),
		IsForward:       true,
		NodeID:          ua.NewNumericExpandedNodeID(0, id.FolderType),
		BrowseName:      &ua.QualifiedName{Name: "FolderType"},
		DisplayName:     &ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: "FolderType"},
		NodeClass:       ua.NodeClassObjectType,
		TypeDefinition:  ua.NewNumericExpandedNodeID(0, 0),
	}}, nil)
	ns.AddNode(n)
	parent.AddRef(n, id.HasComponent, true)
	return n
}

// variable adds a read-only variable whose value is read from the board
// or the line at each read: the loop is never asked for anything.
func (s *Server) variable(ns *server.NodeNameSpace, parent *server.Node, name string, value func() any) {
	short := name[strings.LastIndexByte(name, '.')+1:]
	n := server.NewVariableNode(ua.NewStringNodeID(s.ns, name), short, func() *ua.DataValue {
		return server.DataValueFromValue(value())
	})
	ns.AddNode(n)
	parent.AddRef(n, id.HasComponent, true)
}

// The methods, on the Appliance object.
const (
	MethodTrigger   = "Appliance.Trigger"   // (camera String, partId String)
	MethodSetRecipe = "Appliance.SetRecipe" // (name String)
)

// call serves the Call service: the library has none of its own.
func (s *Server) call(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
	req, ok := r.(*ua.CallRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	resp := &ua.CallResponse{ResponseHeader: &ua.ResponseHeader{Timestamp: time.Now(), RequestHandle: req.RequestHeader.RequestHandle,
		ServiceDiagnostics: &ua.DiagnosticInfo{}, StringTable: []string{}, AdditionalHeader: ua.NewExtensionObject(nil)}}
	for _, m := range req.MethodsToCall {
		resp.Results = append(resp.Results, &ua.CallMethodResult{StatusCode: s.callOne(m)})
	}
	return resp, nil
}

func (s *Server) callOne(m *ua.CallMethodRequest) ua.StatusCode {
	if m.MethodID == nil || m.MethodID.Namespace() != s.ns {
		return ua.StatusBadMethodInvalid
	}
	name := m.MethodID.StringID()
	if name != MethodTrigger && name != MethodSetRecipe {
		return ua.StatusBadMethodInvalid
	}
	if !s.o.Methods {
		return ua.StatusBadUserAccessDenied
	}
	args := make([]string, len(m.InputArguments))
	for i, v := range m.InputArguments {
		str, ok := v.Value().(string)
		if !ok {
			return ua.StatusBadInvalidArgument
		}
		args[i] = str
	}
	switch name {
	case MethodTrigger:
		if len(args) != 2 || trigger.CheckPartID(args[1]) != nil {
			return ua.StatusBadInvalidArgument
		}
		if !s.board.Has(args[0]) {
			return ua.StatusBadNotFound
		}
		if err := s.line.TriggerPart(args[0], trigger.Trigger{PartID: args[1]}, time.Now()); err != nil {
			s.o.Log.Warn("opcua: trigger refused", "camera", args[0], "part_id", args[1], "err", err)
			return ua.StatusBadInvalidState
		}
	case MethodSetRecipe:
		if len(args) != 1 {
			return ua.StatusBadInvalidArgument
		}
		if err := s.line.SetRecipe(args[0], "opcua"); err != nil {
			s.o.Log.Warn("opcua: recipe change refused", "recipe", args[0], "err", err)
			return ua.StatusBadInvalidArgument
		}
	}
	return ua.StatusOK
}

// quiet is the library's logger: its debug and info lines go to the
// appliance's log at debug level.
type quiet struct{ log *slog.Logger }

func (q quiet) Debug(msg string, args ...any) { q.log.Debug("opcua: " + fmt.Sprintf(msg, args...)) }
func (q quiet) Info(msg string, args ...any)  { q.log.Debug("opcua: " + fmt.Sprintf(msg, args...)) }
func (q quiet) Warn(msg string, args ...any)  { q.log.Warn("opcua: " + fmt.Sprintf(msg, args...)) }
func (q quiet) Error(msg string, args ...any) { q.log.Error("opcua: " + fmt.Sprintf(msg, args...)) }
