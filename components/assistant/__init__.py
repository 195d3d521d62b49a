"""NiceGUI pieces of the assistant and the catalog: the AI summary panel and the catalog search widget."""
