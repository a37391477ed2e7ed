"""The client side of the responder's HTTP API: where a responder is, with which credentials,
and how its answers (and refusals) reach the person who asked."""
