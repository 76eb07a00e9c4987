"""Training the answer reader (`qa train-reader`): question sets to candidate lists, the network, the loop, ONNX export."""
