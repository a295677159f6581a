// Usings shared by every test file of Bulkhead.System.Tests.
global using Xunit;
