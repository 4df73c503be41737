"""HTTP only: app factory, routers per resource, schemas, auth, error mapping, dashboard."""
