"""WhatsApp-Web sessions in the admin (M6)."""
