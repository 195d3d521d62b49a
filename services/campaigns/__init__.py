"""Campaigns (issue 16, SPEC L4): approved Cloud API templates to an audience of prospects, through the send gate
(services/whatsapp/outbox.py), paced per number within business hours, with opt-out and response rate per score band.
"""
