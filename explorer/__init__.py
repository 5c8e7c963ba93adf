"""The app: Panel pages per scene, live recompute loop, CLI (imports Panel lazily)."""
