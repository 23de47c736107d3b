"""Generated gRPC/protobuf code for disambig.v1 (produced at build/install time from protos/)."""
