"""Protocol adapters: each turns a device protocol into the unified model and back."""
