module github.com/linesight/linesight

go 1.26.0

require (
	github.com/yalue/onnxruntime_go v1.27.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
