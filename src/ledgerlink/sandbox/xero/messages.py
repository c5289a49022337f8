"""Validation messages. Strings tagged [§6] are verbatim from xero.md §6; the others are places where
Xero's public docs are silent and the sandbox chose a wording (listed in docs/sandbox.md)."""

INVOICE_NUMBER_TAKEN = "Invoice # must be unique."  # [§6]
CREDIT_NOTE_NUMBER_TAKEN = "Credit Note # must be unique."
ACCOUNT_INVALID_FOR_DOCUMENT = "Account code '{code}' is not a valid code for this document."  # [§6]
ACCOUNT_MUST_BE_VALID = "Account must be valid."  # [§6]
ACCOUNT_ARCHIVED = (  # [§6]
    "Account code '{code}' has been archived or has been deleted. "
    "Each line item must reference a valid account."
)
ACCOUNT_MISSING = "Account code or ID must be specified."  # [§6]
TAX_RATE_INVALID = "Tax rate must be valid."  # [§6]
TAX_NOT_FOR_ACCOUNT = "The TaxType code '{tax}' cannot be used with account code '{code}'."  # [§6]
TAX_UNKNOWN = "The TaxType code {tax} does not exist or cannot be used for this type of transaction."  # [§6]
CONTACT_IDENTITY = (
    "The Contact must contain at least 1 of the following elements to identify the contact: "
    "Name, ContactID, ContactNumber"
)  # [§6]
CONTACT_NAME_TAKEN = (
    "The contact name {name} is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)  # [§6]
CONTACT_NUMBER_TAKEN = (
    "The contact number {number} is already assigned to another contact. "
    "The contact number must be unique across all contacts."
)  # [§6]
CONTACT_ARCHIVED = (
    "The contact with the specified contact details has been archived. "
    "The contact must be un-archived before creating new invoices or credit notes."
)  # [§6]
CONTACT_NOT_FOUND = "The document with the supplied id was not found for this endpoint."  # [§6]
CONTACT_STATUS_INVALID = "ContactStatus must be ACTIVE or ARCHIVED."
STATUS_FOR_MODIFICATION = "Invoice not of valid status for modification"  # [§6]
STATUS_FOR_CREATION = "Invoice not of valid status for creation"
TYPE_FOR_CREATION = "Invoice not of valid type for creation"  # [§6]
EDIT_WHEN_PAID = "This document cannot be edited as it has a payment or credit note allocated to it."  # [§6]
SENT_TO_CONTACT = "Only AUTHORISED invoices may have SentToContact updated."  # [§6] (a warning)
LINE_TOTAL_MISMATCH = "The line total {given} does not match the expected line total {expected}"  # [§6]
DISCOUNT_TOO_BIG = (
    "The discount rate '{rate}' is invalid. Discount must not be greater than the line total."  # [§6]
)
DISCOUNT_NOT_ALLOWED = "Discounts are only allowed on sales invoices."
QUANTITY_NEGATIVE = "Quantity must not be less than zero."  # [§6]
TRACKING_UNKNOWN = (
    "Unknown tracking details. A Tracking Category did not match a known active Tracking Category."  # [§6]
)
TRACKING_TOO_MANY = "A line item may have at most 2 tracking categories."
PAYMENT_NOT_AUTHORISED = "Payments can only be made against Authorised documents"  # [§6]
PAYMENT_TOO_MUCH = "Payment amount exceeds the amount outstanding on this document"  # [§6]
PAYMENT_NOT_POSITIVE = "Payment amounts must be positive amounts"  # [§6]
PAYMENT_RECONCILED = "Payment cannot be deleted as it has been reconciled."
PAYMENT_NO_EDIT = "Payments cannot be edited, only deleted (send Status DELETED)."
DOCUMENT_NOT_FOUND = "The document with the supplied id was not found for this endpoint."  # [§6]
CREDIT_NOTE_NOT_FOUND = "An existing Credit Note with the specified CreditNoteID could not be found"  # [§6]
LINE_ITEMS_REQUIRED = "At least one line item must be specified."
NEGATIVE_TOTAL = "The document total cannot be negative. Use a credit note instead."
TAX_OVERRIDE_OUT_OF_RANGE = (
    "The tax amount {given} differs from the calculated tax {expected} by more than 0.01."
)
LOCK_DATE = "The document date cannot be before the end of year lock date, currently set at {date}"  # [§6]
DATE_INVALID = "The {field} is not a valid date."
NUMBER_INVALID = "The {field} must be a number."
LINE_AMOUNT_TYPES_INVALID = "LineAmountTypes must be Exclusive, Inclusive or NoTax."
FIELD_TOO_LONG = "{field} must not be longer than {limit} characters."
ALLOCATION_TOO_MUCH = "The amount allocated exceeds the remaining credit or the amount due on the invoice."
ALLOCATION_NOT_AUTHORISED = "Allocations can only be made between Authorised documents."
ALLOCATION_CURRENCY = "The credit note and the invoice must be in the same currency."
ALLOCATION_CONTACT = "The credit note and the invoice must be for the same contact."
ITEM_CODE_INVALID = "Item code '{code}' is not valid."
ITEM_CODE_TAKEN = "Price List Item with Code ''{code}'' already exists"  # spec example
ITEM_CODE_REQUIRED = "Item code must be specified."
ID_ON_CREATE = "The {field} cannot be specified when creating a new document with PUT."
TAX_RATE_NAME_REQUIRED = "The tax rate must have a Name."
TAX_RATE_NAME_TAKEN = "The tax rate name '{name}' is already in use. Tax rate names must be unique."
TAX_COMPONENTS_REQUIRED = "A tax rate must have at least one tax component."
TAX_COMPONENT_NAME_REQUIRED = "Each tax component must have a Name."
TAX_COMPONENT_RATE_INVALID = (
    "The rate of tax component '{name}' must be a number from 0 to 100 with at most 4 decimal places."
)
REPORT_TAX_TYPE_REQUIRED = "A ReportTaxType is required for tax rates in this organisation."
REPORT_TAX_TYPE_INVALID = "The ReportTaxType '{report}' cannot be used in this organisation."
TAX_RATE_NOT_FOUND = "The tax rate with TaxType '{tax}' could not be found."
TAX_RATE_SYSTEM = "The system tax rate '{tax}' cannot be changed."
TAX_RATE_STATUS_INVALID = "Status must be ACTIVE, ARCHIVED or DELETED."
# Not quoted in the fact sheet: the sandbox's wording for a document in a currency the organisation has not
# added (Settings > Currencies), and for a malformed code on PUT /Currencies.
CURRENCY_NOT_SUBSCRIBED = "The organisation is not subscribed to currency {code}."
CURRENCY_CODE_INVALID = "A valid three-letter currency code is required."
