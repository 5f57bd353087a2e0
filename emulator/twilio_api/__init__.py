"""The REST paths the Twilio SDKs talk to."""
