"""The transport: Engine.IO and Socket.IO on uvicorn, the lean WebSocket path, the fanout and the
HTTP protocol's limits. The only package that touches python-engineio's, python-socketio's,
uvicorn's or wsproto's internals (tests/test_transport_fence.py checks)."""
